import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import { expectError } from '../support/api-app.js';
import { eventually } from '../support/eventually.js';
import { bigId, PREVIEW_BUCKET, writeLargePng } from '../support/fixtures.js';
import { must } from '../support/must.js';
import { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import { Teardown } from '../support/teardown.js';
import { startClosureStack, supabaseClosureStorage, type ClosureStack } from './closure-stack.js';

/**
 * `orders/cancelled` through the webhook while the line's `persistPreview` copies a real
 * 256 MiB preview into the print bucket (its heartbeat already reporting bytes), on each storage
 * backend: the copy finishes, the line ends `withheld` with its asset, it is never `persisted`,
 * and no signed URL is issued for it.
 */
const PREVIEW_MIB = 256;

const teardown = new Teardown();
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'printready-large-cancel-'));
  teardown.defer(() => rm(workDir, { recursive: true, force: true }));
});

afterAll(() => teardown.run());

/** Bytes the line's copy has reported in its heartbeat so far (0 before its first). */
async function copiedBytes(stack: ClosureStack, line: string): Promise<number> {
  const { raw } = await stack.harness.handle(stack.workflowOf(line)).describe();
  const payload = raw.pendingActivities?.find((activity) => activity.activityType?.name === 'persistPreview')?.heartbeatDetails
    ?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<{ bytes: number }>(payload).bytes : 0;
}

async function cancelMidCopy(stack: ClosureStack): Promise<void> {
  const [orderId, line] = [bigId(), bigId()];
  const key = `${stack.shop}/pers-${line}.png`;
  const file = path.join(workDir, `${line}.png`);
  await writeLargePng(file, PREVIEW_MIB);
  await stack.putFile(PREVIEW_BUCKET, key, file);
  await recordPreviewJob(
    stack.harness.db,
    { shop_id: stack.shop, personalization_id: `pers-${line}`, job_id: `job-${line}`, status: 'ready', path: key },
    PREVIEW_BUCKET,
  );

  expect((await stack.deliver('orders/create', stack.payloads.create(orderId, [line]))).statusCode).toBe(200);
  const reported = await eventually(
    async () => {
      const bytes = await copiedBytes(stack, line);
      return bytes > 0 ? bytes : undefined;
    },
    'the copy heartbeating',
    60_000,
    20,
  );
  const cancelled = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]));
  expect(cancelled.statusCode, cancelled.body).toBe(200);
  // The cancellation was recorded while the copy was still running (no asset recorded yet), and
  // left the copying line to its workflow: not listed as closed, not called cancelled meanwhile.
  expect(cancelled.json()).toEqual({ accepted: [], ignored: [], closed: [] });
  expect(await stack.assetsOf(line)).toEqual([]);
  expect((await stack.lineView(line)).status).toBe('processing');
  expect(reported).toBeLessThan(PREVIEW_MIB * 1024 * 1024);

  expect(await stack.outcome(line)).toBe('withheld');
  const view = await stack.lineView(line);
  expect(view.status).toBe('withheld');
  const [asset] = await stack.assetsOf(line);
  expect(Number(must(asset, 'the withheld asset').size_bytes)).toBeGreaterThan(PREVIEW_MIB * 1024 * 1024);
  expect(await stack.printObjects(line)).toEqual([asset?.path]);
  expectError(await stack.signedUrl(line), 409, 'line_withheld');
  await stack.harness.posthog.waitFor((e) => e.event === 'fulfillment.asset.withheld' && e.properties.order_line_id === line, 10_000);
  expect(stack.eventsOf('fulfillment.asset.persisted', line)).toEqual([]);
  expect(stack.eventsOf('fulfillment.line.cancelled', line)).toEqual([]);
  // A redelivery now finds the line closed, withheld.
  const again = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]));
  expect(again.json()).toEqual({ accepted: [], ignored: [], closed: [{ order_line_id: line, status: 'withheld' }] });
}

describe(`a cancellation during a ${String(PREVIEW_MIB)} MiB copy`, () => {
  it('on local storage: the line ends withheld with its asset, never persisted; its signed URL is refused', async () => {
    await cancelMidCopy(await startClosureStack(teardown));
  });

  it('on Supabase Storage: the same', async () => {
    const standIn = await SupabaseStorageStandIn.start();
    teardown.defer(() => standIn.close());
    await cancelMidCopy(await startClosureStack(teardown, { storage: supabaseClosureStorage(standIn) }));
  });
});
