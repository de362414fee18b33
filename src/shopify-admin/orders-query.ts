import { z } from 'zod';
import { shopifyIdSchema } from '../domain/ids.js';

// The Admin GraphQL documents reconciliation sends, and the answers it reads from them (exactly
// the contract's fields), checked with zod: an answer of another shape is an error, not a guess.

/** An Admin API page holds at most 250 nodes; 50 orders of up to 250 line items stay well within the cost limit. */
export const ORDERS_PAGE_SIZE = 50;

const ORDER_FIELDS = `
  id
  legacyResourceId
  cancelledAt
  updatedAt
  lineItems(first: 250) { nodes { id quantity customAttributes { key value } } }`;

export const ORDERS_QUERY = `query ReconcileOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    nodes {${ORDER_FIELDS}
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const ORDER_QUERY = `query ReconcileOrder($id: ID!) {
  order(id: $id) {${ORDER_FIELDS}
  }
}`;

/** The search syntax of `orders(query:)`: orders updated at or after the instant. */
export const updatedSinceQuery = (since: Date): string => `updated_at:>='${since.toISOString()}'`;

export const orderGid = (orderId: string): string => `gid://shopify/Order/${orderId}`;

const isoInstant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date-time');

export const adminOrderSchema = z.object({
  id: z.string(),
  legacyResourceId: shopifyIdSchema,
  cancelledAt: isoInstant.nullable(),
  updatedAt: isoInstant,
  lineItems: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        quantity: z.number().int(),
        customAttributes: z.array(z.object({ key: z.string(), value: z.string().nullable() })),
      }),
    ),
  }),
});
export type AdminOrder = z.infer<typeof adminOrderSchema>;

export const ordersDataSchema = z.object({
  orders: z.object({
    nodes: z.array(adminOrderSchema),
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
  }),
});
export type OrdersPage = z.infer<typeof ordersDataSchema>['orders'];

export const orderDataSchema = z.object({ order: adminOrderSchema.nullable() });

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
