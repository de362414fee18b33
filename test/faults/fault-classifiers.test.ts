import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/errors.js';
import { idleTimeoutFetch } from '../../src/storage/supabase/idle-timeout-fetch.js';
import { TEST_DATABASE_URL } from '../support/database.js';
import { freePort } from '../support/temporal-dev-server.js';

/** The two small pieces the fault scenarios rest on, checked on their own and fast. */
describe('idleTimeoutFetch', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const gap = Number(url.searchParams.get('gap') ?? 0);
      const chunks = Number(url.searchParams.get('chunks') ?? 1);
      const stallAfter = Number(url.searchParams.get('stallAfter') ?? Infinity);
      if (url.pathname === '/silent') return; // accepts, never answers
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const next = (): void => {
        if (sent === stallAfter) return; // keeps the connection open, sends nothing more
        if (sent === chunks) return void res.end();
        res.write(Buffer.alloc(1024, sent));
        sent += 1;
        setTimeout(next, gap);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const fetchWithIdle = idleTimeoutFetch(400);

  it('never cuts a transfer short while bytes keep coming', async () => {
    const started = Date.now();
    const response = await fetchWithIdle(`${base}/steady?chunks=8&gap=150`);
    expect((await response.arrayBuffer()).byteLength).toBe(8 * 1024);
    expect(Date.now() - started).toBeGreaterThan(1_000);
  });

  it('gives up on a server that never answers', async () => {
    await expect(fetchWithIdle(`${base}/silent`)).rejects.toMatchObject({ cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } });
  });

  it('gives up on a body that stops mid-way', async () => {
    const response = await fetchWithIdle(`${base}/stall?chunks=8&gap=10&stallAfter=3`);
    await expect(response.arrayBuffer()).rejects.toMatchObject({ cause: { code: 'UND_ERR_BODY_TIMEOUT' } });
  });

  it('still obeys the caller’s own signal', async () => {
    const controller = new AbortController();
    const pending = fetchWithIdle(`${base}/silent`, { signal: controller.signal });
    controller.abort(new Error('cancelled by the activity'));
    await expect(pending).rejects.toThrow('cancelled by the activity');
  });
});

describe('isDatabaseUnavailable', () => {
  it('recognises a refused connection and a server that is shutting down', async () => {
    const refused = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/test` });
    const error = await refused.connect().catch((caught: unknown) => caught);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(
      true,
    );
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }))).toBe(true);
  });

  it('does not take a wrong query for an outage', async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const syntax = await client.query('selec 1').catch((caught: unknown) => caught);
      expect(isDatabaseUnavailable(syntax)).toBe(false);
      // 65,536 parameters: the server refuses the message as a protocol violation (08P01).
      const tooMany = await client
        .query(
          `select ${Array.from({ length: 2 }, (_, i) => `$${i + 1}::int`).join(',')}`,
          Array.from({ length: 65_536 }, () => 1),
        )
        .catch((caught: unknown) => caught);
      expect(tooMany).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(tooMany)).toBe(false);
    } finally {
      await client.end();
    }
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
