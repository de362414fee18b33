import { randomInt } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../../src/db/connect.js';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import type { LineStatus } from '../../src/domain/line-status.js';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { previewReadySignal } from '../../src/workflows/definitions.js';
import { makePng } from '../support/fixtures.js';

/** Where the workload runs: the service's database and Temporal, and a way to drop a preview into storage. */
export interface WaitingLinesTarget {
  db: Db;
  client: Client;
  taskQueue: string;
  previewBucket: string;
  /** How long each line waits for its preview (`PREVIEW_WAIT_SECONDS`). */
  previewWaitSeconds: number;
  put: (bucket: string, key: string, bytes: Uint8Array) => Promise<void>;
}

const SHOP = 'waiting.myshopify.com';
/** Starts and signals in flight at once: enough to keep the dev server busy, few enough for its gRPC limits. */
const CONCURRENCY = 64;

async function inBatches<T>(items: readonly T[], each: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += CONCURRENCY) {
    await Promise.all(items.slice(start, start + CONCURRENCY).map(each));
  }
}

/**
 * `count` lines whose previews are still rendering: each workflow starts, finds its job
 * rendering and waits for the `preview_ready` signal (or its poll).
 */
export async function startWaitingLines(target: WaitingLinesTarget, count: number): Promise<FulfillmentInput[]> {
  const run = String(randomInt(1e8, 1e9));
  const lines = Array.from({ length: count }, (_, index): FulfillmentInput => ({
    shop_id: SHOP,
    order_id: `7${run}${index}`,
    order_line_id: `6${run}${index}`,
    personalization_id: `wait-${run}-${index}`,
    webhook_id: `wh-${run}`,
    received_at: new Date().toISOString(),
  }));
  await inBatches(lines, (line) =>
    recordPreviewJob(
      target.db,
      { shop_id: SHOP, personalization_id: line.personalization_id, job_id: `job-${line.personalization_id}`, status: 'rendering' },
      target.previewBucket,
    ),
  );
  await inBatches(lines, (line) =>
    startFulfillment(target.client, { taskQueue: target.taskQueue, previewWaitSeconds: target.previewWaitSeconds }, line),
  );
  return lines;
}

/** Every preview finishes at once: one ready object for all of them, and each line signalled, as the previews route does. */
export async function wakeAll(target: WaitingLinesTarget, lines: readonly FulfillmentInput[]): Promise<void> {
  const key = `${SHOP}/shared-preview.png`;
  await target.put(target.previewBucket, key, makePng(64, 48, [10, 120, 200]));
  await inBatches(lines, async (line) => {
    await recordPreviewJob(
      target.db,
      {
        shop_id: SHOP,
        personalization_id: line.personalization_id,
        job_id: `job-${line.personalization_id}`,
        status: 'ready',
        path: key,
        content_type: 'image/png',
      },
      target.previewBucket,
    );
    await target.client.workflow.getHandle(fulfillmentWorkflowId(line)).signal(previewReadySignal);
  });
}

/** How many of the lines the database records in `status`. */
export async function countInStatus(db: Db, lines: readonly FulfillmentInput[], status: LineStatus): Promise<number> {
  const { rows } = await sql<{ count: string }>`select count(*) as count from order_lines
    where status = ${status} and order_line_id in (${sql.join(lines.map((line) => line.order_line_id))})`.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/** Polls until `count` lines are in `status`, or throws after `timeoutMs`. */
export async function untilInStatus(db: Db, lines: readonly FulfillmentInput[], status: LineStatus, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reached = await countInStatus(db, lines, status);
    if (reached === lines.length) return;
    if (Date.now() > deadline) throw new Error(`${reached} of ${lines.length} lines ${status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
