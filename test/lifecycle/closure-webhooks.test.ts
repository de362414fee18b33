import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../src/intake/shopify.js';
import { statusQuery } from '../../src/workflows/definitions.js';
import { FulfillmentStatus } from '../../src/workflows/search-attributes.js';
import { buildDeadTemporalApp, expectError } from '../support/api-app.js';
import { registerOrderLines } from '../../src/db/repositories/order-lines.js';
import { bigId, newLine } from '../support/fixtures.js';
import { Teardown } from '../support/teardown.js';
import { byLine, startClosureStack, type ClosureStack } from './closure-stack.js';

/**
 * `orders/cancelled` and `refunds/create` through the webhook, on the real Temporal dev server,
 * a worker and Postgres: what they close, in what order they may come, and what a redelivery,
 * an order that arrives cancelled or a malformed body does.
 */
const teardown = new Teardown();
let stack: ClosureStack;
let deadApp: FastifyInstance;

beforeAll(async () => {
  stack = await startClosureStack(teardown);
  ({ app: deadApp } = await buildDeadTemporalApp(stack.deps, teardown));
});

afterAll(() => teardown.run());

describe('orders/cancelled', () => {
  it('closes every personalized line: persisted → withheld, waiting and failed → cancelled; signed URLs 409, retry not_failed; a redelivery changes nothing', async () => {
    const orderId = bigId();
    const [persisted, waiting, failed] = [bigId(), bigId(), bigId()];
    await stack.givenPreview(persisted, 'ready');
    await stack.givenPreview(waiting, 'rendering');
    expect((await stack.deliver('orders/create', stack.payloads.create(orderId, [persisted, waiting, failed]))).statusCode).toBe(200);
    await stack.harness.handle(stack.workflowOf(persisted)).result();
    await stack.harness.waitForStatus(stack.workflowOf(waiting), 'waiting_for_preview');
    await stack.harness.waitForStatus(stack.workflowOf(failed), 'failed');

    const response = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [persisted, waiting, failed]));
    expect(response.statusCode, response.body).toBe(200);
    const expected = {
      accepted: [],
      ignored: [],
      closed: byLine([
        { order_line_id: persisted, status: 'withheld' },
        { order_line_id: waiting, status: 'cancelled' },
        { order_line_id: failed, status: 'cancelled' },
      ]),
    };
    expect(response.json()).toEqual(expected);

    // The waiting lines' workflows end at once, as the route says.
    expect(await stack.outcome(waiting)).toBe('cancelled');
    expect(await stack.outcome(failed)).toBe('cancelled');
    expect((await stack.harness.handle(stack.workflowOf(waiting)).describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe(
      'cancelled',
    );
    const views = await Promise.all([persisted, waiting, failed].map(stack.lineView));
    expect(views.map((view) => view.status)).toEqual(['withheld', 'cancelled', 'cancelled']);
    expect(views[0]?.final_asset).toMatchObject({ width: 24, height: 12 });
    expect(views[2]).toMatchObject({ reason_code: null, final_asset: null });
    // The persisted line's run had ended: a short run records its closure, and Temporal reads as the route does.
    const persistedRun = stack.harness.handle(stack.workflowOf(persisted));
    expect(await persistedRun.result()).toEqual(views[0]);
    expect(await persistedRun.query(statusQuery)).toEqual(views[0]);
    const closureRun = await persistedRun.describe();
    expect(closureRun.typedSearchAttributes.get(FulfillmentStatus)).toBe('withheld');

    expectError(await stack.signedUrl(persisted), 409, 'line_withheld');
    expectError(await stack.signedUrl(waiting), 409, 'line_cancelled');
    expectError(await stack.retry(failed), 409, 'not_failed');
    expectError(await stack.retry(persisted), 409, 'not_failed');

    await stack.harness.posthog.waitFor((e) => e.event === 'fulfillment.asset.withheld' && e.properties.order_line_id === persisted, 5_000);
    expect(stack.eventsOf('fulfillment.line.cancelled', waiting)[0]?.properties).toMatchObject({
      closure_reason: 'order_cancelled',
      order_id: orderId,
    });

    const again = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [persisted, waiting, failed]));
    expect(again.json()).toEqual(expected);
    // The closure run already says so: the redelivery starts no other.
    expect((await persistedRun.describe()).runId).toBe(closureRun.runId);
    expect(await Promise.all([persisted, waiting, failed].map(stack.lineView))).toEqual(views);
    expect(stack.eventsOf('fulfillment.line.cancelled', waiting)).toHaveLength(1);
    expect(stack.eventsOf('fulfillment.asset.withheld', persisted)).toHaveLength(1);
  });

  it('before its orders/create: the order’s lines are ignored as order_cancelled and start nothing', async () => {
    const orderId = bigId();
    const lines = [bigId(), bigId()];
    const cancelled = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, lines));
    expect(cancelled.json()).toEqual({ accepted: [], ignored: [], closed: [] });
    const created = await stack.deliver('orders/create', stack.payloads.create(orderId, lines));
    expect(created.statusCode).toBe(200);
    expect(created.json()).toEqual({ accepted: [], ignored: lines.map((line) => ({ order_line_id: line, reason: 'order_cancelled' })) });
    expect(await Promise.all(lines.map(stack.outcome))).toEqual([undefined, undefined]);
  });

  it('closes a processing line whose workflow no longer runs (terminated by hand) itself: no copy can be in flight', async () => {
    const orderId = bigId();
    const line = newLine({ shop_id: stack.shop, order_id: orderId });
    // Its row says processing, and no workflow of that id runs (as after a terminate in the UI).
    await registerOrderLines(stack.harness.db, [line]);
    expect((await stack.lineView(line.order_line_id)).status).toBe('processing');

    const cancelled = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line.order_line_id]));
    expect(cancelled.json()).toEqual({ accepted: [], ignored: [], closed: [{ order_line_id: line.order_line_id, status: 'cancelled' }] });
    expect((await stack.lineView(line.order_line_id)).status).toBe('cancelled');
    await stack.harness.posthog.waitFor(
      (e) => e.event === 'fulfillment.line.cancelled' && e.properties.order_line_id === line.order_line_id,
      5_000,
    );
  });

  it('answers 503 while Temporal is away, with the closure recorded; the redelivery closes the waiting line', async () => {
    const orderId = bigId();
    const line = bigId();
    await stack.givenPreview(line, 'rendering');
    await stack.deliver('orders/create', stack.payloads.create(orderId, [line]));
    await stack.harness.waitForStatus(stack.workflowOf(line), 'waiting_for_preview');
    expectError(await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]), deadApp), 503, 'temporal_unavailable');
    expect((await stack.lineView(line)).status).toBe('cancelled');
    const redelivered = await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]));
    expect(redelivered.json()).toMatchObject({ closed: [{ order_line_id: line, status: 'cancelled' }] });
    expect(await stack.outcome(line)).toBe('cancelled');
  });

  it('records a persisted line withheld in Temporal on the redelivery when Temporal was away at the first delivery', async () => {
    const orderId = bigId();
    const line = bigId();
    await stack.givenPreview(line, 'ready');
    await stack.deliver('orders/create', stack.payloads.create(orderId, [line]));
    const run = stack.harness.handle(stack.workflowOf(line));
    expect(await run.result()).toMatchObject({ status: 'persisted' });
    expectError(await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]), deadApp), 503, 'temporal_unavailable');
    expect((await stack.lineView(line)).status).toBe('withheld');
    expect((await run.describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe('persisted');

    expect((await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]))).statusCode).toBe(200);
    expect(await run.result()).toMatchObject({ status: 'withheld' });
    expect((await run.describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe('withheld');
    // Reported by the delivery that changed the row, though Temporal then failed it.
    await stack.harness.posthog.waitFor((e) => e.event === 'fulfillment.asset.withheld' && e.properties.order_line_id === line, 5_000);
    expect(stack.eventsOf('fulfillment.asset.withheld', line)).toHaveLength(1);
  });
});

describe('an order that arrives cancelled (cancelled_at in orders/create or orders/paid)', () => {
  it('starts nothing, answers order_cancelled and records the cancellation: a later orders/paid starts nothing either', async () => {
    const orderId = bigId();
    const lines = [bigId(), bigId()];
    for (const line of lines) await stack.givenPreview(line, 'ready');
    const ignored = lines.map((line) => ({ order_line_id: line, reason: 'order_cancelled' }));
    const created = await stack.deliver('orders/create', stack.payloads.cancelled(orderId, lines));
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json()).toEqual({ accepted: [], ignored });
    expect((await stack.orderRow(orderId))?.cancelled_at).toEqual(new Date('2026-12-06T15:00:00Z'));

    const paid = await stack.deliver('orders/paid', stack.payloads.create(orderId, lines));
    expect(paid.json()).toEqual({ accepted: [], ignored });
    expect((await stack.deliver('orders/create', stack.payloads.cancelled(orderId, lines))).json()).toEqual(created.json());
    expect(await Promise.all(lines.map(stack.outcome))).toEqual([undefined, undefined]);
    expect(await stack.harness.db.selectFrom('order_lines').select('status').where('order_id', '=', orderId).execute()).toEqual([]);
  });

  it('late, after its lines started (orders/cancelled lost): closes them as orders/cancelled would', async () => {
    const orderId = bigId();
    const [persisted, waiting] = [bigId(), bigId()];
    await stack.givenPreview(persisted, 'ready');
    await stack.givenPreview(waiting, 'rendering');
    await stack.deliver('orders/paid', stack.payloads.create(orderId, [persisted, waiting]));
    await stack.harness.handle(stack.workflowOf(persisted)).result();
    await stack.harness.waitForStatus(stack.workflowOf(waiting), 'waiting_for_preview');

    const late = await stack.deliver('orders/create', stack.payloads.cancelled(orderId, [persisted, waiting]));
    expect(late.statusCode, late.body).toBe(200);
    // An order topic's answer (no `closed`, which only the closure topics give); the lines close all the same.
    expect(late.json()).toEqual({
      accepted: [],
      ignored: [persisted, waiting].map((line) => ({ order_line_id: line, reason: 'order_cancelled' })),
    });
    expect(await stack.outcome(waiting)).toBe('cancelled');
    expect((await stack.lineView(persisted)).status).toBe('withheld');
    expect(
      (
        await stack.harness.posthog.waitFor(
          (e) => e.event === 'fulfillment.line.cancelled' && e.properties.order_line_id === waiting,
          5_000,
        )
      ).properties,
    ).toMatchObject({ closure_reason: 'order_cancelled' });
  });
});

describe('refunds/create', () => {
  it('refunds add up: a partly refunded line is untouched, two partial refunds covering the line close it; a redelivery adds nothing', async () => {
    const orderId = bigId();
    const [twoMugs, oneMug] = [bigId(), bigId()];
    await stack.givenPreview(twoMugs, 'rendering');
    await stack.givenPreview(oneMug, 'rendering');
    await stack.deliver('orders/create', stack.payloads.create(orderId, [twoMugs, oneMug]));
    await stack.harness.waitForStatus(stack.workflowOf(twoMugs), 'waiting_for_preview');
    await stack.harness.waitForStatus(stack.workflowOf(oneMug), 'waiting_for_preview');

    const first = stack.payloads.refund(bigId(), orderId, [
      { line: twoMugs, quantity: 1, of: 2 },
      { line: oneMug, quantity: 1, of: 1 },
    ]);
    const answer = await stack.deliver('refunds/create', first);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toEqual({ accepted: [], ignored: [], closed: [{ order_line_id: oneMug, status: 'cancelled' }] });
    expect(await stack.outcome(oneMug)).toBe('cancelled');
    expect((await stack.deliver('refunds/create', first)).json()).toEqual(answer.json());
    expect((await stack.lineView(twoMugs)).status).toBe('waiting_for_preview');

    const secondBody = stack.payloads.refund(bigId(), orderId, [{ line: twoMugs, quantity: 1, of: 2 }]);
    const second = await stack.deliver('refunds/create', secondBody);
    expect(second.json()).toEqual({ accepted: [], ignored: [], closed: [{ order_line_id: twoMugs, status: 'cancelled' }] });
    expect(await stack.outcome(twoMugs)).toBe('cancelled');
    expect(
      (
        await stack.harness.posthog.waitFor(
          (e) => e.event === 'fulfillment.line.cancelled' && e.properties.order_line_id === twoMugs,
          5_000,
        )
      ).properties,
    ).toMatchObject({ closure_reason: 'line_refunded' });

    // Both refunds delivered again: nothing moves. Each answers its lines' status now, so the
    // first one now also lists the line the second refund closed.
    const refundRows = () => stack.harness.db.selectFrom('order_refunds').selectAll().where('order_id', '=', orderId).execute();
    const [rows, views] = [await refundRows(), await Promise.all([twoMugs, oneMug].map(stack.lineView))];
    expect(rows).toHaveLength(3);
    expect((await stack.deliver('refunds/create', secondBody)).json()).toEqual(second.json());
    expect((await stack.deliver('refunds/create', first)).json()).toEqual({
      accepted: [],
      ignored: [],
      closed: byLine([
        { order_line_id: oneMug, status: 'cancelled' },
        { order_line_id: twoMugs, status: 'cancelled' },
      ]),
    });
    expect(await refundRows()).toEqual(rows);
    expect(await Promise.all([twoMugs, oneMug].map(stack.lineView))).toEqual(views);
    expect(stack.eventsOf('fulfillment.line.cancelled', twoMugs)).toHaveLength(1);
    expect(stack.eventsOf('fulfillment.line.cancelled', oneMug)).toHaveLength(1);
  });

  it('before its orders/create: a line refunded in full is ignored as line_refunded, the others start', async () => {
    const orderId = bigId();
    const [refunded, kept] = [bigId(), bigId()];
    await stack.givenPreview(kept, 'ready');
    await stack.deliver(
      'refunds/create',
      stack.payloads.refund(bigId(), orderId, [
        { line: refunded, quantity: 1, of: 1 },
        { line: kept, quantity: 1, of: 3 },
      ]),
    );
    const created = await stack.deliver('orders/create', stack.payloads.create(orderId, [refunded, kept]));
    expect(created.json()).toEqual({
      accepted: [{ order_line_id: kept, workflow_id: stack.workflowOf(kept), status: 'started' }],
      ignored: [{ order_line_id: refunded, reason: 'line_refunded' }],
    });
    expect(await stack.outcome(refunded)).toBeUndefined();
    expect(await stack.outcome(kept)).toBe('persisted');
  });
});

describe('malformed closures', () => {
  it('malformed, wrongly typed and oversized bodies get the envelope and close nothing', async () => {
    const orderId = bigId();
    const line = bigId();
    await stack.givenPreview(line, 'rendering');
    await stack.deliver('orders/create', stack.payloads.create(orderId, [line]));
    await stack.harness.waitForStatus(stack.workflowOf(line), 'waiting_for_preview');

    const bodies: [string, string][] = [
      ['orders/cancelled', 'not json'],
      ['orders/cancelled', '[]'],
      ['orders/cancelled', `{"id": ${orderId}}`],
      ['orders/cancelled', `{"id": ${orderId}, "cancelled_at": 12}`],
      ['orders/cancelled', `{"id": {"n": ${orderId}}, "cancelled_at": "2026-12-06T10:00:00Z"}`],
      ['orders/cancelled', `{"id": ${orderId}.5, "cancelled_at": "2026-12-06T10:00:00Z"}`],
      ['refunds/create', `{"id": 1, "order_id": ${orderId}}`],
      ['refunds/create', `{"id": 1, "order_id": ${orderId}, "refund_line_items": {}}`],
      [
        'refunds/create',
        `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": ${line}, "quantity": "1", "line_item": {"quantity": 1}}]}`,
      ],
      ['refunds/create', `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": ${line}, "quantity": 1}]}`],
      [
        'refunds/create',
        `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": ${line}, "quantity": -1, "line_item": {"quantity": 1}}]}`,
      ],
      [
        'refunds/create',
        `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": true, "quantity": 1, "line_item": {"quantity": 1}}]}`,
      ],
    ];
    for (const [topic, body] of bodies) expectError(await stack.deliver(topic, body), 400, 'invalid_payload');
    const padding = ' '.repeat(WEBHOOK_BODY_LIMIT);
    expectError(
      await stack.deliver('refunds/create', stack.payloads.refund(bigId(), orderId, [{ line, quantity: 1, of: 1 }]) + padding),
      413,
      'payload_too_large',
    );
    expectError(await stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, [line]) + padding), 413, 'payload_too_large');
    expect((await stack.lineView(line)).status).toBe('waiting_for_preview');
    const recorded = await stack.harness.db
      .selectFrom('orders')
      .select('cancelled_at')
      .where('shop_id', '=', stack.shop)
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    expect(recorded?.cancelled_at ?? null).toBeNull();
    expect(await stack.harness.db.selectFrom('order_refunds').selectAll().where('order_id', '=', orderId).execute()).toEqual([]);
  });
});
