import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOrderLineView } from '../../src/db/repositories/order-lines.js';
import { cancelOrder, recordRefund } from '../../src/db/repositories/orders.js';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { closeSignal, retrySignal } from '../../src/workflows/definitions.js';
import { FulfillmentStatus } from '../../src/workflows/search-attributes.js';
import { makePng, newLine, PREVIEW_BUCKET } from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { saveHistory } from '../support/histories.js';
import { Teardown } from '../support/teardown.js';

let harness: FulfillmentHarness;
const teardown = new Teardown();
beforeAll(async () => {
  harness = await FulfillmentHarness.start({ previewWaitSeconds: 600 });
  teardown.defer(() => harness.close());
});
afterAll(() => teardown.run());

async function givenReadyPreview(h: FulfillmentHarness, line: FulfillmentInput): Promise<void> {
  const path = `${line.shop_id}/${line.personalization_id}.png`;
  await h.put(PREVIEW_BUCKET, path, makePng(16, 16));
  await recordPreviewJob(
    h.db,
    { shop_id: line.shop_id, personalization_id: line.personalization_id, job_id: `job-${line.order_line_id}`, status: 'ready', path },
    PREVIEW_BUCKET,
  );
}

const givenRenderingPreview = (line: FulfillmentInput) =>
  recordPreviewJob(
    harness.db,
    { shop_id: line.shop_id, personalization_id: line.personalization_id, job_id: `job-${line.order_line_id}`, status: 'rendering' },
    PREVIEW_BUCKET,
  );

const eventOf = (h: FulfillmentHarness, name: string, line: FulfillmentInput) =>
  h.posthog.waitFor((event) => event.event === name && event.properties.order_line_id === line.order_line_id, 5_000);

const order = (line: FulfillmentInput) => ({ shop_id: line.shop_id, order_id: line.order_id });

describe('FulfillOrderLine closed by its order', () => {
  it('a line waiting for its preview ends cancelled at once when its order is cancelled, in the database, the query and FulfillmentStatus', async () => {
    const line = newLine();
    await givenRenderingPreview(line);
    const { workflow_id } = await harness.start(line);
    await harness.waitForStatus(workflow_id, 'waiting_for_preview');

    const { closed } = await cancelOrder(harness.db, order(line), new Date());
    expect(closed).toMatchObject([{ order_line_id: line.order_line_id, status: 'cancelled', changed: true }]);
    await harness.handle(workflow_id).signal(closeSignal, { reason: 'order_cancelled' });
    const result = await harness.handle(workflow_id).result();
    expect(result).toMatchObject({ status: 'cancelled', final_asset: null });
    expect(await getOrderLineView(harness.db, line)).toEqual(result);
    expect((await harness.handle(workflow_id).describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe('cancelled');
    expect(await harness.db.selectFrom('final_assets').selectAll().where('order_line_id', '=', line.order_line_id).execute()).toEqual([]);
    await saveHistory(harness.handle(workflow_id), 'cancelled-while-waiting');
  });

  it('an operator’s close signal without an argument (as the Temporal UI sends it) ends a failed line waiting for its retry, reported once', async () => {
    const line = newLine();
    const { workflow_id } = await harness.start(line);
    await harness.waitForStatus(workflow_id, 'failed');
    await harness.handle(workflow_id).signal(closeSignal);
    const result = await harness.handle(workflow_id).result();
    expect(result).toMatchObject({ status: 'cancelled', reason_code: null });
    expect(await getOrderLineView(harness.db, line)).toEqual(result);
    const event = await eventOf(harness, 'fulfillment.line.cancelled', line);
    expect(event.properties).toMatchObject({ closure_reason: 'operator', workflow_id, order_id: line.order_id });
  });

  it('a line whose order was cancelled before it started ends cancelled at its first step, making nothing', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line);
    await cancelOrder(harness.db, order(line), new Date());
    const { workflow_id } = await harness.start(line);
    expect(await harness.handle(workflow_id).result()).toMatchObject({ status: 'cancelled', final_asset: null });
    expect(await getOrderLineView(harness.db, line)).toMatchObject({ status: 'cancelled', final_asset: null });
    const event = await eventOf(harness, 'fulfillment.line.cancelled', line);
    expect(event.properties).toMatchObject({ closure_reason: 'order_cancelled' });
    expect(
      harness.posthog.events().some((e) => e.event === 'fulfillment.started' && e.properties.order_line_id === line.order_line_id),
    ).toBe(false);
  });

  it('refunds add up: a partly refunded line is fulfilled, a line refunded in full by two partial refunds is closed', async () => {
    const partly = newLine();
    const full = newLine({ order_id: partly.order_id });
    await givenReadyPreview(harness, partly);
    await givenReadyPreview(harness, full);
    const item = (line: FulfillmentInput, quantity: number) => ({ order_line_id: line.order_line_id, quantity, line_quantity: 3 });
    const nothing = { closed: [], working: [] };
    expect(await recordRefund(harness.db, order(partly), '7001', [item(partly, 1), item(full, 2)])).toEqual(nothing);
    // The same refund delivered again adds nothing.
    expect(await recordRefund(harness.db, order(partly), '7001', [item(partly, 1), item(full, 2)])).toEqual(nothing);
    expect(await recordRefund(harness.db, order(partly), '7002', [item(full, 1)])).toEqual(nothing); // not started yet: no row to close

    const results = await Promise.all([partly, full].map(async (line) => harness.handle((await harness.start(line)).workflow_id).result()));
    expect(results.map((r) => r.status)).toEqual(['persisted', 'cancelled']);
    expect((await eventOf(harness, 'fulfillment.line.cancelled', full)).properties).toMatchObject({ closure_reason: 'line_refunded' });
  });

  it('a persisted line becomes withheld when its order is cancelled; a redelivered cancellation changes nothing', async () => {
    const line = newLine();
    await givenReadyPreview(harness, line);
    const { workflow_id } = await harness.start(line);
    await harness.handle(workflow_id).result();
    const { closed } = await cancelOrder(harness.db, order(line), new Date());
    expect(closed).toMatchObject([{ order_line_id: line.order_line_id, status: 'withheld', changed: true }]);
    const view = await getOrderLineView(harness.db, line);
    expect(view).toMatchObject({ status: 'withheld', final_asset: { width: 16 } });
    const again = await cancelOrder(harness.db, order(line), new Date());
    expect(again).toEqual({ closed: [{ ...closed[0], changed: false }], working: [] });
    expect(await getOrderLineView(harness.db, line)).toEqual(view);
  });

  it('a line whose order is cancelled during its copy finishes the copy and ends withheld, never persisted', async () => {
    let entered!: () => void;
    const copying = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = await FulfillmentHarness.start({
      wrapActivities: (activities) => ({
        ...activities,
        persistPreview: async (...args) => {
          entered();
          await released;
          return activities.persistPreview(...args);
        },
      }),
    });
    try {
      const line = newLine();
      await givenReadyPreview(held, line);
      const { workflow_id } = await held.start(line);
      await copying;
      // Copying: the closure leaves the line to its workflow instead of calling it cancelled.
      expect(await cancelOrder(held.db, order(line), new Date())).toMatchObject({ closed: [], working: [{ workflow_id }] });
      expect((await getOrderLineView(held.db, line))?.status).toBe('processing');
      await held.handle(workflow_id).signal(closeSignal, { reason: 'order_cancelled' });
      // A retry is no way out of a closure.
      await held.handle(workflow_id).signal(retrySignal);
      release();
      const result = await held.handle(workflow_id).result();
      expect(result).toMatchObject({ status: 'withheld', final_asset: { width: 16 } });
      expect(await getOrderLineView(held.db, line)).toEqual(result);
      expect((await held.handle(workflow_id).describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe('withheld');
      await eventOf(held, 'fulfillment.asset.withheld', line);
      await saveHistory(held.handle(workflow_id), 'withheld-during-copy');
      expect(
        held.posthog.events().some((e) => e.event === 'fulfillment.asset.persisted' && e.properties.order_line_id === line.order_line_id),
      ).toBe(false);
    } finally {
      release();
      await held.close();
    }
  });
});
