import { describe, expect, it } from 'vitest';
import { readAdminOrder } from '../../src/intake/admin-order.js';
import { parseOrderPayload } from '../../src/intake/shopify.js';
import { retryAfterMs, throttledWaitMs } from '../../src/shopify-admin/throttle.js';
import type { AdminOrder } from '../../src/shopify-admin/orders-query.js';

const ORDER_ID = '820982911946154508';
const LINE_IDS = ['866550311766439020', '141249953214522974', '9007199254740993'];

/** The same three line items in both shapes: personalized (twice the key), plain, personalized with a blank value. */
const properties = [
  [
    { name: 'personalization_id', value: 'pers-a' },
    { name: '_personalization_id', value: 'pers-a' },
  ],
  [{ name: 'Gift wrap', value: 'yes' }],
  [{ name: '_personalization_id', value: '  ' }],
];

const webhookBodyOf = (cancelledAt: string | null) =>
  Buffer.from(
    `{"id":${ORDER_ID},"cancelled_at":${JSON.stringify(cancelledAt)},"line_items":[${LINE_IDS.map((id, i) => `{"id":${id},"properties":${JSON.stringify(properties[i])}}`).join(',')}]}`,
  );
const webhookBody = webhookBodyOf(null);

const adminOrder = (cancelledAt: string | null = null): AdminOrder => ({
  id: `gid://shopify/Order/${ORDER_ID}`,
  legacyResourceId: ORDER_ID,
  cancelledAt,
  updatedAt: '2026-12-06T10:00:00Z',
  lineItems: {
    nodes: LINE_IDS.map((id, i) => ({
      id: `gid://shopify/LineItem/${id}`,
      quantity: 1,
      customAttributes: (properties[i] ?? []).map(({ name, value }) => ({ key: name, value })),
    })),
  },
});

describe('an Admin API order', () => {
  it('starts exactly what its webhook starts: one decision for both shapes, ids kept as text above 2^53', () => {
    const order = readAdminOrder(adminOrder());
    expect(order).toEqual(parseOrderPayload(webhookBody));
    expect(order.personalized.map((line) => line.order_line_id)).toEqual([LINE_IDS[0], LINE_IDS[2]]);
    expect(order.cancelled_at).toBeUndefined();
  });

  it('says when it is cancelled, as the webhook’s cancelled_at would', () => {
    const cancelledAt = '2026-12-06T11:00:00Z';
    const order = readAdminOrder(adminOrder(cancelledAt));
    expect(order).toMatchObject({ order_id: ORDER_ID, cancelled_at: new Date(cancelledAt) });
    expect(order).toEqual(parseOrderPayload(webhookBodyOf(cancelledAt)));
  });

  it('ignores a line item whose GID is not a line item', () => {
    const order = adminOrder();
    const [first] = order.lineItems.nodes;
    if (first) first.id = 'gid://shopify/Product/1';
    expect(readAdminOrder(order).ignored).toContainEqual({
      order_line_id: 'gid://shopify/Product/1',
      reason: 'invalid_line_item_id',
    });
  });
});

describe('waiting out throttling', () => {
  it('waits until the bucket has restored what the query asks for', () => {
    expect(throttledWaitMs({ requestedQueryCost: 52, throttleStatus: { currentlyAvailable: 2, restoreRate: 100 } })).toBe(500);
    expect(throttledWaitMs({ requestedQueryCost: 52, throttleStatus: { currentlyAvailable: 60, restoreRate: 100 } })).toBe(1);
    expect(throttledWaitMs(undefined)).toBe(1000);
  });

  it('honours Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('2.5')).toBe(2500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(null)).toBe(1000);
  });
});
