import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import { isDatabaseUnavailable } from '../../src/db/errors.js';
import { TEST_DATABASE_URL } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { Teardown } from '../support/teardown.js';

let proxy: TcpProxy;
let db: Db;
const teardown = new Teardown();

beforeAll(async () => {
  proxy = await TcpProxy.toPostgres(TEST_DATABASE_URL);
  teardown.defer(() => proxy.close());
  db = await connectDatabase({ databaseUrl: proxy.url(TEST_DATABASE_URL), dataDir: '' });
  teardown.defer(() => db.destroy());
});

afterAll(() => teardown.run());

describe('the Postgres pool', () => {
  // pg emits a socket error on the client as well as failing its query; on a client the pool
  // has handed out nothing listens, and an unheard 'error' event ends the process.
  it('fails a running query when its connection is reset, and the process lives on', async () => {
    // Held by the proxy once the query is sent: the reset comes while it runs, never earlier.
    proxy.holdWhen('pg_sleep');
    const running = sql`select pg_sleep(2)`.execute(db);
    await proxy.waitForHeld(1);
    proxy.release();
    await proxy.cut();
    const error = await running.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isDatabaseUnavailable(error), String(error)).toBe(true);

    await proxy.restore();
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});
