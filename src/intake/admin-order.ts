import type { AdminOrder } from '../shopify-admin/orders-query.js';
import { gidId, printable, sortLineItems, type ParsedOrder } from './shopify.js';

/**
 * An order as the Admin GraphQL API gives it, read as its webhook would be: the numeric id is
 * `legacyResourceId`, a line item's id is the tail of its GID (`gid://shopify/LineItem/<id>`,
 * kept as text), its `customAttributes` are the webhook's `properties`, so `sortLineItems`
 * decides what it starts exactly as for the webhook, and `cancelledAt` is the webhook's `cancelled_at`.
 */
export function readAdminOrder(order: AdminOrder): ParsedOrder {
  const parsed = sortLineItems(
    order.legacyResourceId,
    order.lineItems.nodes.map((item) => ({
      order_line_id: gidId(item.id, 'LineItem'),
      sent_id: printable(item.id),
      properties: item.customAttributes.map(({ key, value }) => ({ name: key, value })),
    })),
  );
  return order.cancelledAt === null ? parsed : { ...parsed, cancelled_at: new Date(order.cancelledAt) };
}
