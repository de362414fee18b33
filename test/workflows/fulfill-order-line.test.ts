import { randomBytes } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLineFailures } from '../../src/db/repositories/failures.js';
import { getOrderLineView } from '../../src/db/repositories/order-lines.js';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { recoveryGuidance, type ReasonCode } from '../../src/domain/reasons.js';
import { restartFulfillment } from '../../src/temporal/start-fulfillment.js';
import { FULFILL_ORDER_LINE, previewReadySignal, retrySignal, statusQuery } from '../../src/workflows/definitions.js';
import type { FulfillOrderLine } from '../../src/workflows/fulfill-order-line.js';
import { FulfillmentStatus, ShopId } from '../../src/workflows/search-attributes.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { must } from '../support/must.js';
import { Teardown } from '../support/teardown.js';
import { givenReadyPreview, makeJpeg, makePng, newLine, PREVIEW_BUCKET, PRINT_BUCKET, recordJob, sha256 } from '../support/fixtures.js';
import { saveHistory } from '../support/histories.js';

let harness: FulfillmentHarness;
const teardown = new Teardown();
beforeAll(async () => {
  harness = await FulfillmentHarness.start({ previewWaitSeconds: 3 });
  teardown.defer(() => harness.close());
});
afterAll(() => teardown.run());

/** Registers a ready job whose object is not in storage (yet): the line fails asset_missing until it is put there. */
const givenMissingPreview = (db: FulfillmentHarness['db'], line: FulfillmentInput, name: string): Promise<string> =>
  recordJob(db, line, { path: `${line.shop_id}/${name}.png`, jobId: `job-${name}` });

async function expectFailedWith(line: FulfillmentInput, reason: ReasonCode) {
  const workflowId = (await harness.start(line)).workflow_id;
  const view = await harness.waitForStatus(workflowId, 'failed');
  expect(view).toMatchObject({ reason_code: reason, recovery_guidance: recoveryGuidance(reason), final_asset: null });
  // The query answers with the very object the status route shows, time included.
  expect(await getOrderLineView(harness.db, line)).toEqual(view);
  const failures = await listLineFailures(harness.db, line.shop_id, line.order_line_id);
  expect(failures.map((failure) => failure.reason_code)).toEqual([reason]);
  const event = await harness.posthog.waitFor(
    (captured) => captured.event === 'fulfillment.asset.failed' && captured.properties.order_line_id === line.order_line_id,
    5_000,
  );
  expect(event.properties).toMatchObject({ reason_code: reason, shop_id: line.shop_id, workflow_id: workflowId });
  const description = await harness.handle(workflowId).describe();
  expect(description.typedSearchAttributes.get(FulfillmentStatus)).toBe('failed');
  return workflowId;
}

describe('FulfillOrderLine', () => {
  it('persists the verified preview as the line’s final asset', async () => {
    const line = newLine();
    const png = makePng(640, 480);
    await givenReadyPreview(harness, line, png, { content_type: 'image/png' });

    const started = await harness.start(line);
    expect(started.status).toBe('started');
    const result = await harness.handle(started.workflow_id).result();

    const expectedAsset = {
      bucket: PRINT_BUCKET,
      path: `${line.shop_id}/${line.order_line_id}/${sha256(png)}.png`,
      sha256: sha256(png),
      size_bytes: png.length,
      content_type: 'image/png',
      width: 640,
      height: 480,
    };
    expect(result).toMatchObject({ status: 'persisted', final_asset: expectedAsset, reason_code: null });
    expect(await getOrderLineView(harness.db, line)).toMatchObject({ status: 'persisted', final_asset: expectedAsset });
    const copy = await harness.storage.inspect({ bucket: PRINT_BUCKET, path: expectedAsset.path });
    expect(copy.sha256).toBe(sha256(png));

    const handle = harness.handle(started.workflow_id);
    expect(await handle.query('status')).toEqual(result);
    expect(await getOrderLineView(harness.db, line)).toEqual(result);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(FulfillmentStatus)).toBe('persisted');
    expect(description.typedSearchAttributes.get(ShopId)).toBe(line.shop_id);

    const persisted = await harness.posthog.waitFor(
      (event) => event.event === 'fulfillment.asset.persisted' && event.properties.order_line_id === line.order_line_id,
      5_000,
    );
    expect(persisted.distinct_id).toBe(line.shop_id);
    expect(persisted.properties).toMatchObject({
      order_id: line.order_id,
      personalization_id: line.personalization_id,
      job_id: `job-${line.order_line_id}`,
      workflow_id: started.workflow_id,
      sha256: sha256(png),
    });
    await saveHistory(handle, 'persisted');
  });

  it('persists a line cheaply: at most 20 history events, 3 workflow tasks and one activity task', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line, makePng(8, 8), { content_type: 'image/png' });
    const handle = harness.handle((await harness.start(line)).workflow_id);
    expect(await handle.result()).toMatchObject({ status: 'persisted' });
    const { events } = JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: { eventType: string }[] };
    const count = (type: string) => events.filter((event) => event.eventType === `EVENT_TYPE_${type}`).length;
    expect(events.length).toBeLessThanOrEqual(20);
    expect(count('WORKFLOW_TASK_COMPLETED')).toBeLessThanOrEqual(3);
    expect(count('ACTIVITY_TASK_SCHEDULED')).toBe(1);
  });

  it('keeps the file’s bytes out of the workflow history: only references and metadata travel', async () => {
    const line = newLine();
    // A 2 MiB file as verification sees it: a PNG's header and end, random bytes between.
    const png = makePng(16, 16);
    const filler = randomBytes(2 * 1024 * 1024);
    const bytes = Buffer.concat([png.subarray(0, png.length - 12), filler, png.subarray(png.length - 12)]);
    await givenReadyPreview(harness, line, bytes, { content_type: 'image/png' });
    const { workflow_id } = await harness.start(line);
    expect(await harness.handle(workflow_id).result()).toMatchObject({ status: 'persisted', final_asset: { size_bytes: bytes.length } });

    const history = historyToJSON(await harness.handle(workflow_id).fetchHistory());
    expect(history.length).toBeLessThan(64 * 1024);
    // Not a fragment of the bytes either, raw or as base64 (how payloads carry data).
    expect(history).not.toContain(filler.subarray(1000, 1048).toString('base64'));
  });

  it('a late run for a persisted line (Temporal had forgotten its id) finds the asset and does nothing, showing what the status route shows', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line, makePng(6, 6));
    const firstRun = harness.handle((await harness.start(line)).workflow_id);
    const first = await firstRun.result();
    const firstRunId = (await firstRun.describe()).runId;
    const before = await getOrderLineView(harness.db, line);
    const lateRun = must(await restartFulfillment(harness.client, harness.taskQueue, line), 'the late run');
    expect(lateRun).not.toBe(firstRunId);
    const late = await harness.client.workflow.getHandle<typeof FulfillOrderLine>(first.workflow_id, lateRun).result();
    expect(late).toEqual(before);
    expect(await getOrderLineView(harness.db, line)).toEqual(before);
  });

  it('starts one run per line, however often it is started', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line, makePng(8, 8));
    const [first, second] = await Promise.all([harness.start(line), harness.start(line)]);
    expect([first.status, second.status].sort()).toEqual(['duplicate', 'started']);
    await harness.handle(first.workflow_id).result();
    expect((await harness.start(line)).status).toBe('duplicate');
    expect((await harness.client.workflow.count(`WorkflowId = '${first.workflow_id}'`)).count).toBe(1);
  });

  describe('fails the line with its reason, guidance, log row and event', () => {
    it('preview_not_found: no job for the personalization', async () => {
      await expectFailedWith(newLine(), 'preview_not_found');
    });

    it('shop_mismatch: the personalization belongs to another shop', async () => {
      const line = newLine();
      await givenReadyPreview(harness, { ...line, shop_id: 'other.myshopify.com' }, makePng(4, 4));
      await expectFailedWith(line, 'shop_mismatch');
    });

    it('preview_failed: the generator reported failure', async () => {
      const line = newLine();
      await recordJob(harness.db, line, { status: 'failed', jobId: 'job-failed' });
      await expectFailedWith(line, 'preview_failed');
    });

    it('preview_not_ready: still rendering when the wait runs out', async () => {
      const line = newLine();
      await recordJob(harness.db, line, { status: 'rendering', jobId: 'job-slow' });
      const workflowId = await expectFailedWith(line, 'preview_not_ready');
      await saveHistory(harness.handle(workflowId), 'preview-not-ready');
    });

    it('asset_missing: the job points to nothing', async () => {
      const line = newLine();
      await givenMissingPreview(harness.db, line, 'gone');
      await expectFailedWith(line, 'asset_missing');
    });

    it('asset_inaccessible: the job names a bucket storage does not have (or will not show the service)', async () => {
      const line = newLine();
      const job = { shop_id: line.shop_id, personalization_id: line.personalization_id, job_id: 'job-nowhere', status: 'ready' as const };
      await recordPreviewJob(harness.db, { ...job, bucket: 'no-such-bucket', path: `${line.shop_id}/p.png` }, PREVIEW_BUCKET);
      await expectFailedWith(line, 'asset_inaccessible');
    });

    it('asset_invalid: empty, not an image, not the declared type, or cut short', async () => {
      const empty = newLine();
      await givenReadyPreview(harness, empty, new Uint8Array());
      await expectFailedWith(empty, 'asset_invalid');

      const text = newLine();
      await givenReadyPreview(harness, text, new TextEncoder().encode('<html>not an image</html>'));
      await expectFailedWith(text, 'asset_invalid');

      const mislabelled = newLine();
      await givenReadyPreview(harness, mislabelled, makeJpeg(32, 32), { content_type: 'image/png' });
      await expectFailedWith(mislabelled, 'asset_invalid');

      // An interrupted upload: a good header, no end. Printed, it would be a broken image.
      const cut = newLine();
      const jpeg = makeJpeg(32, 32);
      await givenReadyPreview(harness, cut, jpeg.subarray(0, jpeg.length - 10), { content_type: 'image/jpeg' });
      await expectFailedWith(cut, 'asset_invalid');
      const { reason_message } = must(await getOrderLineView(harness.db, cut), "the line's view");
      expect(reason_message).toMatch(/is not a complete image\/jpeg: it does not end with its end-of-image marker \(cut short\?\)$/);
    });

    it('checksum_mismatch: a different object already holds the asset’s place', async () => {
      const line = newLine();
      const png = makePng(16, 16);
      await givenReadyPreview(harness, line, png);
      await harness.put(PRINT_BUCKET, `${line.shop_id}/${line.order_line_id}/${sha256(png)}.png`, makePng(17, 17));
      await expectFailedWith(line, 'checksum_mismatch');
    });
  });

  it('shows buyer-supplied ids in the Temporal UI as code: a personalization id cannot inject a Markdown link', async () => {
    /** The text the UI renders as Markdown once every inline code span is taken out. */
    const outsideCode = (markdown: string | undefined) => (markdown ?? '').replace(/(`+)(?!`)[^]*?[^`]\1(?!`)/g, '');
    const shown = { '[x](https://evil)': '`[x](https://evil)`', '`[x](https://evil)` **bold**': '`` `[x](https://evil)` **bold** ``' };
    for (const [personalization_id, asCode] of Object.entries(shown)) {
      const line = newLine({ personalization_id });
      const workflowId = await expectFailedWith(line, 'preview_not_found');
      const handle = harness.handle(workflowId);
      const description = await handle.describe();
      const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      for (const text of [await description.staticSummary(), await description.staticDetails(), currentDetails]) {
        expect(text).toBeTruthy();
        expect(outsideCode(text)).not.toMatch(/\]\(|https:\/\/evil|\*\*/);
      }
      expect(await description.staticDetails()).toContain(`Personalization ${asCode},`);
    }
  });

  it('fails at once as invalid_input on an input that is not a line (one started by hand), and keeps serving valid ones', async () => {
    const inputs = [{ ...newLine(), received_at: 'yesterday' }, { ...newLine(), shop_id: 'not a shop' }, 42];
    for (const [index, input] of inputs.entries()) {
      const handle = await harness.client.workflow.start(FULFILL_ORDER_LINE, {
        taskQueue: harness.taskQueue,
        workflowId: `invalid-input-${index}-${newLine().order_line_id}`,
        args: [input],
      });
      const failure = await handle.result().then(
        () => expect.unreachable('an invalid input was accepted'),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({ type: 'invalid_input', nonRetryable: true });
    }
    const line = newLine();
    await givenReadyPreview(harness, line, makePng(2, 2));
    expect(await harness.handle((await harness.start(line)).workflow_id).result()).toMatchObject({ status: 'persisted' });
  });

  it('runs when started by hand with the contract’s input alone (the preview wait left to its default)', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line, makePng(3, 3));
    const handle = await harness.client.workflow.start(FULFILL_ORDER_LINE, {
      taskQueue: harness.taskQueue,
      workflowId: `${line.shop_id}:${line.order_line_id}:fulfillment`,
      args: [line],
    });
    expect(await handle.result()).toMatchObject({ status: 'persisted' });
  });

  it('started by hand with the contract’s input alone, waits for a rendering preview as long as the worker’s PREVIEW_WAIT_SECONDS says', async () => {
    const line = newLine();
    await recordJob(harness.db, line, { status: 'rendering', jobId: 'job-by-hand' });
    const { workflowId } = await harness.client.workflow.start(FULFILL_ORDER_LINE, {
      taskQueue: harness.taskQueue,
      workflowId: `${line.shop_id}:${line.order_line_id}:fulfillment`,
      args: [line],
    });
    // The harness's worker says 3 s; the default would be 1800.
    expect(await harness.waitForStatus(workflowId, 'failed')).toMatchObject({
      reason_code: 'preview_not_ready',
      reason_message: 'preview job job-by-hand was still rendering after 3 s',
    });
  });

  it('waits for a rendering preview, then persists it once it is posted', async () => {
    const line = newLine();
    const job = { shop_id: line.shop_id, personalization_id: line.personalization_id, job_id: 'job-render' };
    await recordPreviewJob(harness.db, { ...job, status: 'rendering' }, PREVIEW_BUCKET);
    const { workflow_id } = await harness.start(line);
    const waiting = await harness.waitForStatus(workflow_id, 'waiting_for_preview');
    expect(await getOrderLineView(harness.db, line)).toEqual(waiting);
    expect((await harness.handle(workflow_id).describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe('waiting_for_preview');

    const png = makePng(20, 10);
    await harness.put(PREVIEW_BUCKET, 'rendered.png', png);
    await recordPreviewJob(harness.db, { ...job, status: 'ready', path: 'rendered.png' }, PREVIEW_BUCKET);
    await harness.handle(workflow_id).signal(previewReadySignal);
    const result = await harness.handle(workflow_id).result();
    expect(result).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png), width: 20, height: 10 } });
    await saveHistory(harness.handle(workflow_id), 'waited-for-preview');
  });

  it('recovers after failure → fix → retry, with exactly one asset', async () => {
    const line = newLine();
    const path = await givenMissingPreview(harness.db, line, 'late');
    const workflowId = await expectFailedWith(line, 'asset_missing');

    const png = makePng(30, 30);
    await harness.put(PREVIEW_BUCKET, path, png);
    const handle = harness.handle(workflowId);
    await handle.signal(retrySignal);
    await handle.signal(retrySignal);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'persisted', reason_code: null, final_asset: { sha256: sha256(png) } });

    const assets = await harness.db
      .selectFrom('final_assets')
      .selectAll()
      .where('shop_id', '=', line.shop_id)
      .where('order_line_id', '=', line.order_line_id)
      .execute();
    expect(assets).toHaveLength(1);
    expect(await listLineFailures(harness.db, line.shop_id, line.order_line_id)).toHaveLength(1);
    const retried = await harness.posthog.waitFor(
      (event) => event.event === 'fulfillment.retry_requested' && event.properties.order_line_id === line.order_line_id,
      5_000,
    );
    // What was retried: the failure the operator fixed.
    expect(retried.properties).toMatchObject({ attempt: 2, reason_code: 'asset_missing' });
    await saveHistory(handle, 'failed-then-retried');
  });

  it('counts a retry sent once the database says failed, before the workflow has heard so', async () => {
    // The retry route acts on the database, which says failed as soon as recordFailure commits:
    // here the activity's result is held back until the retry has been sent.
    let failureCommitted!: () => void;
    const committed = new Promise<void>((resolve) => (failureCommitted = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = await FulfillmentHarness.start({
      wrapActivities: (activities) => ({
        ...activities,
        recordFailure: async (...args) => {
          const recorded = await activities.recordFailure(...args);
          failureCommitted();
          await released;
          return recorded;
        },
      }),
    });
    try {
      const line = newLine();
      const path = await givenMissingPreview(held.db, line, 'held');
      const { workflow_id } = await held.start(line);
      // Fails fast (and closes the second worker) should the line never get to record its failure.
      await Promise.race([
        committed,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the line never recorded its failure')), 20_000).unref()),
      ]);
      expect(await getOrderLineView(held.db, line)).toMatchObject({ status: 'failed', reason_code: 'asset_missing' });
      expect((await held.handle(workflow_id).query(statusQuery)).status).toBe('processing');

      await held.put(PREVIEW_BUCKET, path, makePng(12, 12));
      await held.handle(workflow_id).signal(retrySignal);
      release();
      const persisted = await held.waitForStatus(workflow_id, 'persisted', 20_000);
      expect(persisted.final_asset).not.toBeNull();
      expect(await listLineFailures(held.db, line.shop_id, line.order_line_id)).toHaveLength(1);
      await saveHistory(held.handle(workflow_id), 'retried-while-failure-recorded');
    } finally {
      release();
      await held.close();
    }
  });
});
