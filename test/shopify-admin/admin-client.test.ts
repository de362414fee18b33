import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShopifyAdminClient } from '../../src/shopify-admin/admin-client.js';
import { ShopifyAdminError } from '../../src/shopify-admin/admin-errors.js';
import {
  lineItemsWithinCap,
  MAX_QUERY_COST,
  ORDERS_PAGE_SIZE,
  ordersPageCost,
  PAGE_LINE_ITEMS,
} from '../../src/shopify-admin/orders-query.js';
import { ShopifyAdminStandIn, type StandInOptions, type StandInOrder } from '../support/shopify-admin-stand-in.js';

const SHOP = 'cost-test.myshopify.com';
const TOKEN = 'shpat_00000000000000000000000000000000';
const SINCE = new Date('2026-01-01T00:00:00Z');

let nextId = 10n ** 17n;
const id = () => String(nextId++);
let orders = 0;

/** An order of `count` line items, updated after the previous one. */
function order(count: number): StandInOrder {
  orders += 1;
  return {
    id: id(),
    updatedAt: new Date(SINCE.getTime() + orders * 1000).toISOString(),
    cancelledAt: null,
    lineItems: Array.from({ length: count }, () => ({ id: id(), quantity: 1, customAttributes: [] })),
  };
}

const gids = (given: StandInOrder) => given.lineItems.map((item) => `gid://shopify/LineItem/${item.id}`);

/** A stand-in of its own per test, and a client of it that waits out throttling for real. */
async function admin(options: StandInOptions = {}) {
  const standIn = await ShopifyAdminStandIn.start({ [SHOP]: TOKEN }, options);
  const progress: { order_id: string; line_items: number }[] = [];
  const client = new ShopifyAdminClient(
    SHOP,
    TOKEN,
    { origin: standIn.origin, apiVersion: '2025-10' },
    { wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), progress: (details) => progress.push(details) },
  );
  return { standIn, client, progress };
}

describe('the price of a page of orders', () => {
  it('stays within Shopify’s cap: 50 orders with their first line items, where 250 each would be refused', () => {
    expect(ordersPageCost(ORDERS_PAGE_SIZE, PAGE_LINE_ITEMS)).toBe(552);
    expect(ordersPageCost(ORDERS_PAGE_SIZE, PAGE_LINE_ITEMS)).toBeLessThanOrEqual(MAX_QUERY_COST);
    expect(PAGE_LINE_ITEMS).toBeGreaterThanOrEqual(1);
    expect(ordersPageCost(50, 250)).toBe(12_652);
  });

  it('leaves room for the most line items that fit, whatever the page size', () => {
    for (const orders of [1, 10, 50, 100, 250]) {
      const most = lineItemsWithinCap(orders);
      expect(ordersPageCost(orders, most), `${orders} orders`).toBeLessThanOrEqual(MAX_QUERY_COST);
      expect(ordersPageCost(orders, most + 1), `${orders} orders`).toBeGreaterThan(MAX_QUERY_COST);
    }
    expect(lineItemsWithinCap(50)).toBe(16);
  });
});

describe('reading orders from the Admin API', () => {
  const stands: ShopifyAdminStandIn[] = [];
  const start = async (options?: StandInOptions) => {
    const started = await admin(options);
    stands.push(started.standIn);
    return started;
  };
  afterAll(() => Promise.all(stands.map((standIn) => standIn.close())));

  let long: StandInOrder;
  let short: StandInOrder;
  beforeAll(() => {
    short = order(3);
    long = order(600);
  });

  it('reads an order of 600 line items whole: its first on the page, the rest 250 at a time, each once and in order', async () => {
    const { standIn, client, progress } = await start();
    standIn.put(SHOP, short, long);

    const page = await client.ordersUpdatedSince(SINCE, null);

    expect(page.nodes.map((node) => node.legacyResourceId)).toEqual([short.id, long.id]);
    expect(page.nodes[0]?.lineItems.nodes.map((item) => item.id)).toEqual(gids(short));
    expect(page.nodes[1]?.lineItems.nodes.map((item) => item.id)).toEqual(gids(long));
    expect(page.nodes[1]?.lineItems).not.toHaveProperty('pageInfo');
    expect(standIn.requests.map(({ operation, cost }) => [operation, cost])).toEqual([
      ['ReconcileOrders', 552],
      ['ReconcileOrder', 253],
      ['ReconcileOrder', 253],
      ['ReconcileOrder', 253],
    ]);
    expect(progress).toEqual([250 + 8, 500 + 8, 600].map((line_items) => ({ order_id: long.id, line_items })));
  });

  it('reads an order by id whole, 250 line items at a time', async () => {
    const { standIn, client } = await start();
    standIn.put(SHOP, long);

    const read = await client.order(long.id);

    expect(read?.lineItems.nodes.map((item) => item.id)).toEqual(gids(long));
    expect(standIn.requests.map(({ operation }) => operation)).toEqual(['ReconcileOrder', 'ReconcileOrder', 'ReconcileOrder']);
  });

  it('takes an order whose line items come without pageInfo as whole', async () => {
    const { standIn, client } = await start({ allLineItemsAtOnce: true });
    standIn.put(SHOP, long);

    const page = await client.ordersUpdatedSince(SINCE, null);

    expect(page.nodes[0]?.lineItems.nodes.map((item) => item.id)).toEqual(gids(long));
    expect(standIn.requests).toHaveLength(1);
  });

  it('fails at once, not retried nor waited out, when Shopify prices the query above its cap', async () => {
    const { standIn, client } = await start({ maxQueryCost: 500 });
    standIn.put(SHOP, short);

    const failure = await client.ordersUpdatedSince(SINCE, null).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ShopifyAdminError);
    expect(failure).toMatchObject({ kind: 'too_costly', retryable: false });
    expect((failure as Error).message).toMatch(/too costly \(MAX_COST_EXCEEDED\): Query cost is 552, which exceeds .* \(500\)/);
    expect(standIn.requests).toHaveLength(1);
  });

  it('the stand-in refuses the former query, 50 orders of up to 250 line items, as Shopify does', async () => {
    const { standIn } = await start();
    standIn.put(SHOP, short);
    const former = `query ReconcileOrders($first: Int!, $after: String, $query: String!) {
      orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
        nodes { id legacyResourceId cancelledAt updatedAt lineItems(first: 250) { nodes { id quantity customAttributes { key value } } } }
        pageInfo { hasNextPage endCursor }
      }
    }`;

    const response = await fetch(`${standIn.origin}/admin/api/2025-10/graphql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': TOKEN },
      body: JSON.stringify({ query: former, variables: { first: 50, after: null, query: `updated_at:>='${SINCE.toISOString()}'` } }),
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'MAX_COST_EXCEEDED', cost: 12_652, maxCost: 1000 } }],
    });
  });
});
