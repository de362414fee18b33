import type { AdminOrder } from '../shopify-admin/orders-query.js';
import type { CancelledOrder } from './closure-payloads.js';
import { gidId, printable, sortLineItems, type ParsedOrder } from './shopify.js';

/**
 * An order as the Admin GraphQL API gives it, read as its webhook would be: the numeric id is
 * `legacyResourceId`, a line item's id is the tail of its GID (`gid://shopify/LineItem/<id>`,
 * kept as text), and its `customAttributes` are the webhook's `properties`, so `sortLineItems`
 * decides what it starts exactly as for the webhook.
 */
export function readAdminOrder(order: AdminOrder): { order: ParsedOrder; cancelled: CancelledOrder | null } {
  const parsed = sortLineItems(
    order.legacyResourceId,
    order.lineItems.nodes.map((item) => ({
      order_line_id: gidId(item.id, 'LineItem'),
      sent_id: printable(item.id),
      properties: item.customAttributes.map(({ key, value }) => ({ name: key, value })),
    })),
  );
  const cancelled = order.cancelledAt === null ? null : { order_id: order.legacyResourceId, cancelled_at: new Date(order.cancelledAt) };
  return { order: parsed, cancelled };
}
