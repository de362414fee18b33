import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOrderLineView } from '../../src/db/repositories/order-lines.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { killAll, memoryOf, type Spawned } from '../support/child-processes.js';
import type { TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { must } from '../support/must.js';
import {
  givenReadyPreview,
  makePng,
  newLine,
  PREVIEW_BUCKET,
  previewPath,
  PRINT_BUCKET,
  putLocal,
  recordJob,
  sha256File,
  uniqueShop,
  writeLargePng,
} from '../support/fixtures.js';
import type { PostHogStandIn } from '../support/posthog-stand-in.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { Teardown } from '../support/teardown.js';
import { startWorkerProcess, type WorkerProcessEnv } from '../support/worker-process.js';
import { lineFolder, listFiles, resultsOf, workerProcessStack } from './helpers.js';

/**
 * `kill -9` of the worker process while some lines are in the middle of copying a large preview
 * into the print bucket and others have copied theirs and are recording it (their statement
 * held open by the database proxy at the final_assets insert). A new worker finishes every line:
 * exactly one asset row, one object in the print bucket and one `fulfillment.asset.persisted`
 * event per line.
 */
const SMALL_LINES = 4;
const LARGE_LINES = 2;
const LARGE_MIB = 256;

let database: TestDatabase;
let proxy: TcpProxy;
let posthog: PostHogStandIn;
let client: Client;
let storageRoot: string;
let env: WorkerProcessEnv;

const shop = uniqueShop('crash');
const small: FulfillmentInput[] = Array.from({ length: SMALL_LINES }, () => newLine({ shop_id: shop }));
const large: FulfillmentInput[] = Array.from({ length: LARGE_LINES }, () => newLine({ shop_id: shop }));
const lines = [...small, ...large];
const expectedSha = new Map<string, string>();
const teardown = new Teardown();

beforeAll(async () => {
  ({ database, proxy, posthog, client, storageRoot, env } = await workerProcessStack(teardown, 'crash'));

  for (const [index, line] of small.entries()) {
    expectedSha.set(
      line.order_line_id,
      (await givenReadyPreview({ db: database.db, put: putLocal(storageRoot) }, line, makePng(64 + index, 48))).sha256,
    );
  }
  for (const line of large) {
    expectedSha.set(line.order_line_id, (await writeLargePng(path.join(storageRoot, PREVIEW_BUCKET, previewPath(line)), LARGE_MIB)).sha256);
    await recordJob(database.db, line);
  }
}, 120_000);

afterAll(async () => {
  await killAll();
  await teardown.run();
});

/** Temporary files of copies in progress in a line's print folder. */
const partialsOf = async (line: FulfillmentInput): Promise<string[]> =>
  (await listFiles(lineFolder(storageRoot, line))).filter((name) => name.startsWith('.partial-'));

const nonEmpty = async (folder: string, names: string[]): Promise<boolean> => {
  for (const name of names) {
    if ((await stat(path.join(folder, name)).catch(() => null))?.size) return true;
  }
  return false;
};

describe('a worker killed with SIGKILL mid-copy and mid-persist', () => {
  let first: Spawned;
  let second: Spawned;

  it('is caught with lines copying and lines recording', async () => {
    first = await startWorkerProcess('crash-worker-1', env);
    const workerPid = await first.commandPid();
    const idle = await memoryOf(workerPid);
    // Any line that reaches the final_assets insert stops there, its statement unfinished.
    proxy.holdWhen('insert into "final_assets"');
    for (const line of lines)
      expect((await startFulfillment(client, { taskQueue: env.TEMPORAL_TASK_QUEUE, previewWaitSeconds: 30 }, line)).status).toBe('started');

    await proxy.waitForHeld(SMALL_LINES, 60_000);
    // Killed the moment a large preview is being written into the print bucket.
    let memory = await memoryOf(workerPid);
    await eventually(
      async () => {
        memory = await memoryOf(workerPid);
        for (const line of large) {
          if (await nonEmpty(lineFolder(storageRoot, line), await partialsOf(line))) return true;
        }
        return undefined;
      },
      'a large line mid-copy',
      60_000,
      5,
    );
    const recording = proxy.held;
    await first.kill();
    // A held statement is one autocommit statement: released before its connection is gone, it
    // would still run and record the line. It must die with the worker, as it would unsent.
    await eventually(() => (proxy.held === 0 ? true : undefined), "the killed worker's connections closed", 10_000);
    proxy.release();

    // Where each line was: copying (only a partial file), or recording (the object is in the
    // print bucket, its asset row is not in the database).
    const copying: FulfillmentInput[] = [];
    const persisting: FulfillmentInput[] = [];
    for (const line of lines) {
      const files = await listFiles(lineFolder(storageRoot, line));
      const row = (await getOrderLineView(database.db, line))?.final_asset;
      if (!row && files.length > 0 && files.every((name) => name.startsWith('.partial-'))) copying.push(line);
      if (!row && files.includes(`${expectedSha.get(line.order_line_id)}.png`)) persisting.push(line);
    }
    console.log(
      `worker killed (SIGKILL) with ${persisting.length} lines mid-persist (${recording} held mid-statement) and ` +
        `${copying.length} mid-copy of a ${LARGE_MIB} MiB preview; its RSS then: ${memory.rss_mib} MiB (idle ${idle.rss_mib} MiB)`,
    );
    expect(copying.length).toBeGreaterThanOrEqual(1);
    expect(persisting.length).toBeGreaterThanOrEqual(SMALL_LINES);
    expect(persisting).toEqual(expect.arrayContaining(small));
  });

  it('lets a new worker finish every line, each exactly once', async () => {
    const started = Date.now();
    second = await startWorkerProcess('crash-worker-2', env);
    const results = await resultsOf(client, lines);
    console.log(
      `all ${lines.length} lines persisted ${((Date.now() - started) / 1000).toFixed(1)} s after the kill (activity heartbeat timeout 30 s)`,
    );

    for (const [index, line] of lines.entries()) {
      const sha = must(expectedSha.get(line.order_line_id), `the preview sha256 of line ${line.order_line_id}`);
      expect(results[index]).toMatchObject({ status: 'persisted', final_asset: { sha256: sha } });

      const rows = await database.db
        .selectFrom('final_assets')
        .selectAll()
        .where('shop_id', '=', shop)
        .where('order_line_id', '=', line.order_line_id)
        .execute();
      expect(rows).toHaveLength(1);

      const objects = await listFiles(lineFolder(storageRoot, line));
      expect(objects, `print folder of line ${line.order_line_id}`).toEqual([`${sha}.png`]);
      expect(await sha256File(path.join(lineFolder(storageRoot, line), must(objects[0], 'the print object')))).toBe(sha);
    }
    expect(await listFiles(path.join(storageRoot, PRINT_BUCKET, shop))).toHaveLength(lines.length);

    const persistedEvents = () =>
      posthog.uniqueByUuid().filter((event) => event.event === 'fulfillment.asset.persisted' && event.properties.shop_id === shop);
    await eventually(() => (persistedEvents().length >= lines.length ? true : undefined), 'persisted events', 10_000);
    const perLine = new Map<string, number>();
    for (const event of persistedEvents()) {
      const id = String(event.properties.order_line_id);
      perLine.set(id, (perLine.get(id) ?? 0) + 1);
    }
    expect(Object.fromEntries(perLine)).toEqual(Object.fromEntries(lines.map((line) => [line.order_line_id, 1])));

    const memory = await memoryOf(await second.commandPid());
    console.log(
      `second worker after copying ${LARGE_LINES} × ${LARGE_MIB} MiB: RSS ${memory.rss_mib} MiB, peak ${memory.peak_rss_mib} MiB`,
    );
    await second.stop();
    expect(second.alive).toBe(false);
  });
});
