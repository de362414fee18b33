import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FulfillmentActivities } from '../../src/activities/index.js';
import { cancelOrder } from '../../src/db/repositories/orders.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { orderEventWorkflowId, readyForPrintEvent } from '../../src/domain/order-events.js';
import { recoveryGuidance } from '../../src/domain/reasons.js';
import { orderEventsTotal } from '../../src/telemetry/metrics/metrics.js';
import { retrySignal } from '../../src/workflows/definitions.js';
import { OrderId } from '../../src/workflows/search-attributes.js';
import type { DeliverOrderEvent } from '../../src/workflows/deliver-order-event.js';
import { registerSecrets } from '../support/capture.js';
import { eventually } from '../support/eventually.js';
import { givenReadyPreview, makePng, newLine, uniqueShop } from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { must } from '../support/must.js';
import { OrderEventsReceiver, type ReceivedEvent } from '../support/order-events-receiver.js';
import { Teardown } from '../support/teardown.js';

const SECRET = `oes_${randomBytes(24).toString('hex')}`;
/** Retries in milliseconds, not hours: the workflow's timing is what tests shorten. */
const TIMING = { initial_interval_ms: 100, maximum_interval_ms: 300, attempt_timeout_ms: 4_000, give_up_after_ms: 8_000 };

let harness: FulfillmentHarness;
let receiver: OrderEventsReceiver;
/** Two persistPreview calls wait here for each other, so that their lines commit at the same instant. */
let barrier: { waiting: number; release: () => void; released: Promise<void> } | undefined;
const teardown = new Teardown();

beforeAll(async () => {
  registerSecrets(SECRET);
  receiver = await OrderEventsReceiver.start();
  teardown.defer(() => receiver.close());
  harness = await FulfillmentHarness.start({
    orderEvents: { url: receiver.url, secret: SECRET, urlTtlSeconds: 86_400, timing: TIMING },
    wrapActivities: (activities): FulfillmentActivities => ({
      ...activities,
      persistPreview: async (...args) => {
        if (barrier) {
          const gate = barrier;
          if (++gate.waiting === 2) gate.release();
          await gate.released;
        }
        return activities.persistPreview(...args);
      },
    }),
  });
  teardown.defer(() => harness.close());
});
afterAll(() => teardown.run());

const shop = uniqueShop('events');
const orderOf = (count: number): FulfillmentInput[] => {
  const order_id = newLine().order_id;
  return Array.from({ length: count }, () => newLine({ shop_id: shop, order_id }));
};
const withPreviews = async (lines: FulfillmentInput[]) => {
  for (const [index, line] of lines.entries()) await givenReadyPreview(harness, line, makePng(24 + index, 12));
  return lines;
};
const delivery = (eventId: string) => harness.client.workflow.getHandle<typeof DeliverOrderEvent>(orderEventWorkflowId(eventId));
const deliveredCount = async () =>
  (await orderEventsTotal.get()).values.find((v) => v.labels.type === 'order.ready_for_print' && v.labels.outcome === 'delivered')?.value;
const eventRows = (orderId: string) => harness.db.selectFrom('order_events').selectAll().where('order_id', '=', orderId).execute();

/** The README's verification snippet, run as the receiver would run it. */
async function readmeVerifier(): Promise<(raw: Buffer, header: unknown, secret: string) => boolean> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const block = must(readme.split('<!-- order-event-verify:start -->')[1]?.split('<!-- order-event-verify:end -->')[0], 'the snippet');
  const code = must(/```js\n([\s\S]*?)```/.exec(block)?.[1], 'its code');
  return vm.runInNewContext(`${code}\nisFromPrintready`, { require: createRequire(import.meta.url), Buffer }) as never;
}

describe('order.ready_for_print', () => {
  let lines: FulfillmentInput[];
  let event: ReceivedEvent;

  it('is sent exactly once for a 2-line order whose lines persist at the same instant', async () => {
    lines = await withPreviews(orderOf(2));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    barrier = { waiting: 0, release: () => release(), released };
    const starts = await Promise.all(lines.map((line) => harness.start(line)));
    const results = await Promise.all(starts.map(({ workflow_id }) => harness.handle(workflow_id).result()));
    barrier = undefined;
    expect(results.map((result) => result.status)).toEqual(['persisted', 'persisted']);

    const { event_id } = readyForPrintEvent(must(lines[0], 'a line'));
    expect(await delivery(event_id).result()).toBe('delivered');
    const received = receiver.ofOrder(must(lines[0], 'a line').order_id);
    expect(received).toHaveLength(1);
    event = must(received[0], 'the event');
    expect(await eventRows(event.body.order_id)).toMatchObject([{ event_id, outcome: 'delivered' }]);
    expect(await deliveredCount()).toBeGreaterThanOrEqual(1);
  });

  it('shows in the Temporal UI as a delivery of that event, found by the order id, its input ids only', async () => {
    const line = must(lines[0], 'a line');
    const description = await delivery(readyForPrintEvent(line).event_id).describe();
    expect(description.type).toBe('DeliverOrderEvent');
    expect(await description.staticSummary()).toBe(`\`order.ready_for_print\` for order \`${line.order_id}\` of \`${shop}\``);
    expect(description.typedSearchAttributes.get(OrderId)).toBe(line.order_id);
    const history = JSON.stringify(await delivery(readyForPrintEvent(line).event_id).fetchHistory());
    expect(history).not.toContain(SECRET);
    expect(history).not.toContain('/files/print-assets/');
  });

  it('carries every line with a URL valid ORDER_EVENTS_URL_TTL_SECONDS, its sha256 and size', async () => {
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-printready-event-id']).toBe(event.body.id);
    expect(event.body).toMatchObject({ type: 'order.ready_for_print', shop_id: shop, order_id: must(lines[0], 'a line').order_id });
    expect(Date.parse(event.body.created_at)).toBeLessThanOrEqual(event.at);
    const sent = event.body.lines as { order_line_id: string; url: string; expires_at: string; sha256: string; size_bytes: number }[];
    expect(sent.map((line) => line.order_line_id).sort()).toEqual(lines.map((line) => line.order_line_id).sort());
    for (const line of sent) {
      expect(line).toMatchObject({ status: 'persisted', content_type: 'image/png' });
      expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:9\/files\/print-assets\//);
      const lifetime = (Date.parse(line.expires_at) - event.at) / 1000;
      expect(lifetime).toBeGreaterThan(86_400 - 10);
      expect(lifetime).toBeLessThanOrEqual(86_400);
    }
    // PostHog hears of the order once too.
    await harness.posthog.waitFor((e) => e.event === 'order.ready_for_print' && e.properties.order_id === event.body.order_id, 5_000);
    expect(
      harness.posthog.uniqueByUuid().filter((e) => e.event === 'order.ready_for_print' && e.properties.order_id === event.body.order_id),
    ).toHaveLength(1);
  });

  it('is signed so that the README’s few lines verify it, and nothing else does', async () => {
    const verify = await readmeVerifier();
    const raw = Buffer.from(event.raw);
    expect(verify(raw, event.headers['x-printready-signature'], SECRET)).toBe(true);
    expect(event.headers['x-printready-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verify(raw, event.headers['x-printready-signature'], `${SECRET}x`)).toBe(false);
    expect(
      verify(Buffer.from(event.raw.replace('ready_for_print', 'ready_for_prinT')), event.headers['x-printready-signature'], SECRET),
    ).toBe(false);
    expect(verify(raw, undefined, SECRET)).toBe(false);
    expect(verify(raw, 'sha256=00', SECRET)).toBe(false);
  });

  it('reaches a receiver that was down for a while, once it is back, with the same id and created_at', async () => {
    receiver.answer({ status: 500 }, { status: 503 }, { status: 429, retryAfter: '1' }, { status: 502 });
    const order = await withPreviews(orderOf(1));
    const line = must(order[0], 'the line');
    await harness.handle((await harness.start(line)).workflow_id).result();
    const { event_id } = readyForPrintEvent(line);
    expect(await delivery(event_id).result()).toBe('delivered');
    const attempts = receiver.ofOrder(line.order_id);
    expect(attempts.map((attempt) => attempt.status)).toEqual([500, 503, 429, 502, 200]);
    expect(new Set(attempts.map((attempt) => attempt.headers['x-printready-event-id']))).toEqual(new Set([event_id]));
    expect(new Set(attempts.map((attempt) => attempt.body.created_at)).size).toBe(1);
    // Retry-After: 1 held the next attempt back a second, beyond the 300 ms the backoff allows.
    const [, , tooMany, next] = attempts;
    expect(must(next, 'the attempt after 429').at - must(tooMany, 'the 429').at).toBeGreaterThanOrEqual(900);
  });
});

describe('an order whose sibling line has no row yet', () => {
  it('is not ready when its first line persists, and sends one event with both lines when the second does', async () => {
    const [first, second] = (await withPreviews(orderOf(2))).map((line) => ({ ...line, order_lines: 2 }));
    const a = must(first, 'the first line');
    const b = must(second, 'the second line');
    // As after a database too slow to register the order's lines at intake: only the first line runs.
    await harness.handle((await harness.start(a)).workflow_id).result();
    expect(await eventRows(a.order_id)).toEqual([]);
    await harness.handle((await harness.start(b)).workflow_id).result();
    expect(await delivery(readyForPrintEvent(a).event_id).result()).toBe('delivered');
    const received = receiver.ofOrder(a.order_id);
    expect(received).toHaveLength(1);
    expect(received[0]?.body.lines.map((line) => line.order_line_id).sort()).toEqual([a.order_line_id, b.order_line_id].sort());
  });
});

describe('order.needs_attention', () => {
  it('is sent once per failure of a line, each with its own id, naming the line, its reason and guidance', async () => {
    const [line] = orderOf(1);
    const failing = must(line, 'the line');
    const { workflow_id } = await harness.start(failing);
    await harness.waitForStatus(workflow_id, 'failed');
    await eventually(
      () => (receiver.accepted((e) => e.body.order_id === failing.order_id).length === 1 ? true : undefined),
      'the first event',
      20_000,
    );
    await harness.handle(workflow_id).signal(retrySignal);
    await eventually(
      () => (receiver.accepted((e) => e.body.order_id === failing.order_id).length === 2 ? true : undefined),
      'the second event',
      20_000,
    );

    const events = receiver.accepted((e) => e.body.order_id === failing.order_id);
    expect(new Set(events.map((e) => e.body.id)).size).toBe(2);
    for (const received of events) {
      expect(received.body).toMatchObject({
        type: 'order.needs_attention',
        lines: [
          {
            order_line_id: failing.order_line_id,
            status: 'failed',
            reason_code: 'preview_not_found',
            reason_message: expect.stringContaining(failing.personalization_id) as string,
            recovery_guidance: recoveryGuidance('preview_not_found'),
          },
        ],
      });
    }
    await harness.handle(workflow_id).terminate('test done');
  });
});

describe('a cancelled order', () => {
  it('gets nothing more once cancelled: its delivery stops quietly', async () => {
    receiver.answer({ status: 503 }, { status: 503 }, { status: 503 });
    const [line] = await withPreviews(orderOf(1));
    const persisting = must(line, 'the line');
    await harness.handle((await harness.start(persisting)).workflow_id).result();
    const { event_id } = readyForPrintEvent(persisting);
    await eventually(() => (receiver.ofOrder(persisting.order_id).length >= 1 ? true : undefined), 'a refused attempt', 10_000);
    await cancelOrder(harness.db, persisting, new Date());
    expect(await delivery(event_id).result()).toBe('stopped');
    expect(receiver.accepted((e) => e.body.order_id === persisting.order_id)).toEqual([]);
    expect(await eventRows(persisting.order_id)).toMatchObject([{ event_id, outcome: 'stopped' }]);
  });
});

describe('a receiver that never accepts', () => {
  it('is given up on after the delivery’s time, reported to PostHog as order.event.delivery_failed', async () => {
    receiver.otherwise({ status: 500 });
    try {
      const [line] = await withPreviews(orderOf(1));
      const doomed = must(line, 'the line');
      await harness.start(doomed);
      const { event_id } = readyForPrintEvent(doomed);
      await eventually(() => (receiver.ofOrder(doomed.order_id).length > 0 ? true : undefined), 'a first attempt', 20_000);
      expect(await delivery(event_id).result()).toBe('undelivered');
      expect(receiver.ofOrder(doomed.order_id).length).toBeGreaterThan(3);
      const failed = await harness.posthog.waitFor(
        (e) => e.event === 'order.event.delivery_failed' && e.properties.event_id === event_id,
        5_000,
      );
      expect(failed.properties).toMatchObject({ shop_id: shop, order_id: doomed.order_id, event_type: 'order.ready_for_print' });
      expect(await eventRows(doomed.order_id)).toMatchObject([{ event_id, outcome: 'undelivered' }]);
      expect((await orderEventsTotal.get()).values).toContainEqual(
        expect.objectContaining({ labels: { type: 'order.ready_for_print', outcome: 'undelivered' }, value: 1 }),
      );
    } finally {
      receiver.otherwise({ status: 200 });
    }
  }, 60_000);
});
