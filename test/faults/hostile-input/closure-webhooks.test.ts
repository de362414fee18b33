import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../../src/intake/shopify.js';
import { bigId, deliveryHeaders } from '../../support/fixtures.js';
import { useHostileApp } from '../../support/hostile-app.js';

/**
 * Hostile `orders/cancelled` and `refunds/create` deliveries, signed (so they reach the parser):
 * malformed, oversized and wrongly typed bodies, ids as strings, negative, fractional or past
 * 20 digits. Each is answered 200 or a 4xx envelope, never a 5xx; anything but 200 records no
 * cancellation, no refund and closes no line. They aim at the hostile app's persisted line, so
 * a body wrongly taken for a closure would withhold it.
 */
const hostile = useHostileApp();
const { creds, shop, expectSafe, hostileValue, persistedLine } = hostile;
const [orderId, lineId] = [persistedLine.order_id, persistedLine.order_line_id];

const postSigned = (topic: string, body: string) =>
  hostile.app.inject({
    method: 'POST',
    url: '/webhooks/shopify',
    headers: deliveryHeaders(shop, body, creds.webhookSecret, { topic }),
    payload: body,
  });

/** Everything only a recorded closure writes: cancelled orders, refund rows, closed lines. */
async function closureWrites() {
  const { db } = hostile.database;
  return {
    cancelled: await db
      .selectFrom('orders')
      .select(['shop_id', 'order_id'])
      .where('cancelled_at', 'is not', null)
      .orderBy('order_id')
      .execute(),
    refunds: await db.selectFrom('order_refunds').selectAll().orderBy('refund_id').orderBy('order_line_id').execute(),
    closed: await db
      .selectFrom('order_lines')
      .select(['order_line_id', 'status'])
      .where('status', 'in', ['cancelled', 'withheld'])
      .orderBy('order_line_id')
      .execute(),
  };
}

const CANCELLED_AT = '"2026-12-06T10:00:00-05:00"';
const cancellation = (id: string, cancelledAt = CANCELLED_AT) => `{"id": ${id}, "cancelled_at": ${cancelledAt}, "line_items": []}`;
const refund = (fields: { id?: string; order_id?: string; items?: string }) =>
  `{"id": ${fields.id ?? bigId()}, "order_id": ${fields.order_id ?? orderId}, "refund_line_items": ${fields.items ?? '[]'}}`;
const refundItem = (fields: { line?: string; quantity?: string; of?: string }) =>
  `{"line_item_id": ${fields.line ?? lineId}, "quantity": ${fields.quantity ?? '1'}, "line_item": {"id": ${lineId}, "quantity": ${fields.of ?? '1'}}}`;

/** Ids a Shopify id is not: negative, zero, fractional, exponent, past 20 digits, text, other types. */
const BAD_IDS = ['-5', '0', '1.5', '1e5', '123456789012345678901', '"abc"', '"-5"', '" 12"', '""', 'true', 'null', '{}', `[${lineId}]`];
/** Quantities a refund line does not carry: as text, negative, fractional, absurd, other types. */
const BAD_QUANTITIES = ['"1"', '-1', '1.5', '1e7', '99999999999999999999999', 'null', 'true', '[]'];

const MALFORMED: [topic: string, body: string][] = [
  ...['orders/cancelled', 'refunds/create'].flatMap((topic) =>
    ['not json', '', '[]', 'null', '"x"', '12', '{', '['.repeat(100_000)].map((body): [string, string] => [topic, body]),
  ),
  ...BAD_IDS.map((id): [string, string] => ['orders/cancelled', cancellation(id)]),
  ...['null', '12', '"yesterday"', '""', '"2026-12-06"', '{}'].map((at): [string, string] => [
    'orders/cancelled',
    cancellation(orderId, at),
  ]),
  ['orders/cancelled', `{"id": ${orderId}}`],
  ...BAD_IDS.flatMap((id): [string, string][] => [
    ['refunds/create', refund({ id })],
    ['refunds/create', refund({ order_id: id })],
    ['refunds/create', refund({ items: `[${refundItem({ line: id })}]` })],
  ]),
  ...BAD_QUANTITIES.flatMap((quantity): [string, string][] => [
    ['refunds/create', refund({ items: `[${refundItem({ quantity })}]` })],
    ['refunds/create', refund({ items: `[${refundItem({ of: quantity })}]` })],
  ]),
  ['refunds/create', `{"order_id": ${orderId}, "refund_line_items": []}`],
  ['refunds/create', refund({ items: '{}' })],
  ['refunds/create', refund({ items: 'null' })],
  ['refunds/create', refund({ items: `[${refundItem({})}, 7]` })],
  ['refunds/create', refund({ items: `[{"line_item_id": ${lineId}, "quantity": 1}]` })],
  // More refund lines than any order holds.
  ['refunds/create', refund({ items: `[${Array.from({ length: 10_001 }, () => refundItem({ line: bigId() })).join(',')}]` })],
];

describe('hostile input: orders/cancelled and refunds/create', () => {
  it(`answers ${String(MALFORMED.length)} malformed, wrongly typed and ill-numbered closures with 400 invalid_payload, closing nothing`, async () => {
    const before = await closureWrites();
    for (const [topic, body] of MALFORMED) {
      const response = await postSigned(topic, body);
      expectSafe(response);
      expect(response.statusCode, `${topic} ${body.slice(0, 120)}`).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('invalid_payload');
    }
    expect(await closureWrites()).toEqual(before);
  });

  it('refuses oversized closures with 413, closing nothing', async () => {
    const before = await closureWrites();
    const padding = ' '.repeat(WEBHOOK_BODY_LIMIT);
    for (const [topic, body] of [
      ['orders/cancelled', cancellation(orderId) + padding],
      ['refunds/create', refund({ items: `[${refundItem({})}]` }) + padding],
    ] as const) {
      const response = await postSigned(topic, body);
      expectSafe(response);
      expect(response.statusCode).toBe(413);
    }
    expect(await closureWrites()).toEqual(before);
  });

  it('takes ids sent as decimal strings, as Shopify ids', async () => {
    const other = bigId();
    const cancelled = await postSigned('orders/cancelled', cancellation(`"${other}"`));
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const refunded = await postSigned(
      'refunds/create',
      refund({ id: `"${bigId()}"`, order_id: `"${other}"`, items: `[${refundItem({ line: `"${bigId()}"` })}]` }),
    );
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect((await closureWrites()).cancelled).toContainEqual({ shop_id: shop, order_id: other });
  });

  it('answers any closure body with 200 or a 4xx envelope, and a refusal writes nothing', async () => {
    // Valid closures of the persisted line's order with one field replaced by anything.
    const anyId = fc.oneof(
      fc.constant(orderId),
      fc.constant(lineId),
      fc.constantFrom(...BAD_IDS),
      hostileValue.map((value) => JSON.stringify(value)),
    );
    const anyText = hostileValue.map((value) => JSON.stringify(value));
    const body = fc.oneof(
      fc.tuple(anyId, fc.oneof(fc.constant(CANCELLED_AT), anyText)).map(([id, at]) => ['orders/cancelled', cancellation(id, at)] as const),
      fc
        .record({
          id: anyId,
          order_id: anyId,
          line: anyId,
          quantity: fc.oneof(fc.constantFrom('1', ...BAD_QUANTITIES), anyText),
          of: anyText,
        })
        .map(
          ({ id, order_id, line, quantity, of }) =>
            ['refunds/create', refund({ id, order_id, items: `[${refundItem({ line, quantity, of })}]` })] as const,
        ),
      fc.tuple(fc.constantFrom('orders/cancelled', 'refunds/create'), hostile.hostileBody.map(String)),
    );
    await fc.assert(
      fc.asyncProperty(body, async ([topic, payload]) => {
        const before = await closureWrites();
        const response = await postSigned(topic, payload);
        expectSafe(response, (status) => status === 200);
        if (response.statusCode !== 200) expect(await closureWrites()).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });
});
