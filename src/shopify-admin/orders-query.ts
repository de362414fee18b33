import { z } from 'zod';
import { shopifyIdSchema } from '../domain/ids.js';

// The Admin GraphQL documents reconciliation sends, and the answers it reads from them (exactly
// the contract's fields), checked with zod: an answer of another shape is an error, not a guess.

/** Shopify refuses, before running it, a query whose requested cost is above this (`MAX_COST_EXCEEDED`). */
export const MAX_QUERY_COST = 1_000;

/**
 * The requested cost of a page of `orders` each asking for its first `lineItems` line items, as Shopify prices a query
 * before running it: scalars 0, an object 1 (an order, a line item), a connection 2 + `first` × its node's cost.
 */
export const ordersPageCost = (orders: number, lineItems: number): number => 2 + orders * (1 + (2 + lineItems * 1));

/** The most line items each order of a page of `orders` can ask for within the cap. */
export function lineItemsWithinCap(orders: number): number {
  let lineItems = 0;
  while (ordersPageCost(orders, lineItems + 1) <= MAX_QUERY_COST) lineItems++;
  return lineItems;
}

/** An Admin API page holds at most 250 nodes; the contract reads orders 50 at a time. */
export const ORDERS_PAGE_SIZE = 50;
/**
 * Line items asked for with each order of a page; an order with more has the rest read by `ORDER_QUERY`.
 * 2 + 50 × (1 + 2 + 8) = 552 points. Not the 16 the cap allows: the bucket must hold a query's requested cost
 * before it runs, and 8 still fit were a line's attribute list priced as an object too (2 + 50 × (3 + 8 × 2) = 952).
 */
export const PAGE_LINE_ITEMS = Math.min(8, lineItemsWithinCap(ORDERS_PAGE_SIZE));
/** Line items per `order` query (1 + 2 + 250 = 253 points): the most a connection page holds. */
export const ORDER_LINE_ITEMS = 250;

const LINE_ITEMS_SELECTION = '{ nodes { id quantity customAttributes { key value } } pageInfo { hasNextPage endCursor } }';
const ORDER_SCALARS = 'id legacyResourceId cancelledAt updatedAt';

export const ORDERS_QUERY = `query ReconcileOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    nodes { ${ORDER_SCALARS} lineItems(first: ${PAGE_LINE_ITEMS}) ${LINE_ITEMS_SELECTION} }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** One order, its line items from `$after` on: the order reconciled by id, and the rest of a long order's line items. */
export const ORDER_QUERY = `query ReconcileOrder($id: ID!, $after: String) {
  order(id: $id) { ${ORDER_SCALARS} lineItems(first: ${ORDER_LINE_ITEMS}, after: $after) ${LINE_ITEMS_SELECTION} }
}`;

/** The search syntax of `orders(query:)`: orders updated at or after the instant. */
export const updatedSinceQuery = (since: Date): string => `updated_at:>='${since.toISOString()}'`;

export const orderGid = (orderId: string): string => `gid://shopify/Order/${orderId}`;

const isoInstant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date-time');
const pageInfoSchema = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });

const orderFields = {
  id: z.string(),
  legacyResourceId: shopifyIdSchema,
  cancelledAt: isoInstant.nullable(),
  updatedAt: isoInstant,
};
const lineItemSchema = z.object({
  id: z.string(),
  quantity: z.number().int(),
  customAttributes: z.array(z.object({ key: z.string(), value: z.string().nullable() })),
});

/** An order as one answer holds it: some of its line items, and whether more follow (no `pageInfo`: none do). */
const orderAnswerSchema = z.object({
  ...orderFields,
  lineItems: z.object({ nodes: z.array(lineItemSchema), pageInfo: pageInfoSchema.optional() }),
});
export type OrderAnswer = z.infer<typeof orderAnswerSchema>;
/** An order with all its line items, as reconciliation reads it. */
export type AdminOrder = Omit<OrderAnswer, 'lineItems'> & { lineItems: Pick<OrderAnswer['lineItems'], 'nodes'> };

export const ordersDataSchema = z.object({
  orders: z.object({ nodes: z.array(orderAnswerSchema), pageInfo: pageInfoSchema }),
});
export interface OrdersPage {
  nodes: AdminOrder[];
  pageInfo: z.infer<typeof pageInfoSchema>;
}

export const orderDataSchema = z.object({ order: orderAnswerSchema.nullable() });

/** `extensions.cost`, present on every answer: what the query was priced at and how full the bucket is. */
export const costSchema = z.object({
  requestedQueryCost: z.number().optional(),
  throttleStatus: z.object({ currentlyAvailable: z.number(), restoreRate: z.number().positive() }).optional(),
});
export type QueryCost = z.infer<typeof costSchema>;

/** The envelope of every answer: `data` (null on errors), `errors[]` with their codes, `extensions.cost`. */
export const graphqlAnswerSchema = z.object({
  data: z.unknown().optional(),
  errors: z
    .array(z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).loose().optional() }).loose())
    .optional(),
  extensions: z.object({ cost: costSchema.optional() }).loose().optional(),
});
