import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedaction, recordRedaction } from '../../src/db/repositories/privacy.js';
import { redactionWorkflowId, type RedactionCounts } from '../../src/domain/privacy.js';
import { startRedaction } from '../../src/temporal/start-redaction.js';
import type { RedactShopData } from '../../src/workflows/redact-shop-data.js';
import { killAll } from '../support/child-processes.js';
import type { TestDatabase } from '../support/database.js';
import { bigId, PREVIEW_BUCKET, PRINT_BUCKET, uniqueShop } from '../support/fixtures.js';
import { must } from '../support/must.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { Teardown } from '../support/teardown.js';
import { startWorkerProcess, type WorkerProcessEnv } from '../support/worker-process.js';
import { seedPersistedLines, type SeededLine } from '../privacy/seed.js';
import { listFiles, workerProcessStack } from './helpers.js';

/**
 * `kill -9` of the worker in the middle of a redaction of 200 lines: the first page of 100 is
 * erased, the worker is stopped at the statement that counts its objects. A new worker finishes
 * the redaction: every object of those lines is gone, every other object (another order of the
 * shop, another shop) is still there byte for byte, and nothing is counted twice.
 */
const LINES = 200;

const teardown = new Teardown();
let database: TestDatabase;
let proxy: TcpProxy;
let client: Client;
let storageRoot: string;
let env: WorkerProcessEnv;
const shop = uniqueShop('redact-crash');
const otherShop = uniqueShop('bystander');
const redactedOrder = bigId();
let redacted: SeededLine[];
let untouched: Map<string, Buffer>;
let redactionId: string;

/** Every object of the local buckets, with its bytes. */
async function allObjects(): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for (const bucket of [PREVIEW_BUCKET, PRINT_BUCKET]) {
    for (const file of await listFiles(path.join(storageRoot, bucket))) {
      objects.set(`${bucket}/${file}`, await readFile(path.join(storageRoot, bucket, file)));
    }
  }
  return objects;
}

beforeAll(async () => {
  ({ database, proxy, client, storageRoot, env } = await workerProcessStack(teardown, 'redaction-crash'));

  redacted = await seedPersistedLines(database.db, storageRoot, shop, redactedOrder, LINES);
  await seedPersistedLines(database.db, storageRoot, shop, bigId(), 5);
  await seedPersistedLines(database.db, storageRoot, otherShop, redactedOrder, 5);
  const everything = await allObjects();
  const gone = new Set(redacted.flatMap((line) => line.objects));
  untouched = new Map([...everything].filter(([key]) => !gone.has(key)));
  expect(everything.size).toBe(2 * LINES + 20);
}, 120_000);

afterAll(async () => {
  await killAll();
  await teardown.run();
});

describe('a worker killed with SIGKILL in the middle of a redaction of 200 lines', () => {
  it('is caught with the first page erased and the second untouched', async () => {
    const first = await startWorkerProcess('redaction-worker-1', env);
    // The first page has deleted its objects and erased its rows; the worker stops as it counts them.
    proxy.holdWhen('update "redactions" set "objects_deleted"');
    const row = await recordRedaction(database.db, {
      shop_id: shop,
      kind: 'customer',
      request_key: `customer:${bigId()}:crash`,
      order_ids: [redactedOrder],
      received_at: new Date(),
    });
    redactionId = row.redaction_id;
    await startRedaction(client, env.TEMPORAL_TASK_QUEUE, {
      redaction_id: redactionId,
      shop_id: shop,
      kind: 'customer',
      preview_bucket: PREVIEW_BUCKET,
      print_bucket: PRINT_BUCKET,
    });
    await proxy.waitForHeld(1, 60_000);
    await first.kill();
    proxy.release();

    const left = await allObjects();
    const remaining = redacted.filter((line) => line.objects.every((key) => left.has(key)));
    console.log(`worker killed (SIGKILL) mid-redaction with ${LINES - remaining.length} of ${LINES} lines' objects deleted`);
    expect(remaining.length).toBeGreaterThan(0);
    expect(remaining.length).toBeLessThan(LINES);
    expect(must(await findRedaction(database.db, shop, redactionId), 'the redaction').status).toBe('running');
  });

  it('lets a new worker finish it: every object of those lines gone, every other one there byte for byte', async () => {
    const started = Date.now();
    await startWorkerProcess('redaction-worker-2', env);
    const counts = await client.workflow.getHandle<typeof RedactShopData>(redactionWorkflowId(shop, redactionId)).result();
    console.log(`redaction finished ${((Date.now() - started) / 1000).toFixed(1)} s after the restart (activity heartbeat timeout 30 s)`);

    const left = await allObjects();
    for (const line of redacted) for (const key of line.objects) expect(left.has(key), key).toBe(false);
    expect(left).toEqual(untouched);
    // Lines counted once each; objects of the killed page were counted by no one, so at most all of them.
    expect(counts).toMatchObject<Partial<RedactionCounts>>({ orders_redacted: 1, lines_redacted: LINES });
    expect(counts.objects_deleted).toBeGreaterThanOrEqual(LINES);
    expect(counts.objects_deleted).toBeLessThanOrEqual(2 * LINES);
    const rows = await database.db
      .selectFrom('order_lines')
      .select(['status', 'personalization_id'])
      .where('shop_id', '=', shop)
      .where('order_id', '=', redactedOrder)
      .execute();
    expect(new Set(rows.map((row) => `${row.status}:${row.personalization_id}`))).toEqual(new Set(['redacted:']));
    expect(await database.db.selectFrom('final_assets').select('order_line_id').where('shop_id', '=', shop).execute()).toHaveLength(5);
    expect(await database.db.selectFrom('final_assets').select('order_line_id').where('shop_id', '=', otherShop).execute()).toHaveLength(5);
  });
});
