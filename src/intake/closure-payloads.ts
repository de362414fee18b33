import { isLosslessNumber } from 'lossless-json';
import { z } from 'zod';
import { bodyIdSchema, parseWebhookBody } from './webhook-body.js';

// The bodies of `orders/cancelled` and `refunds/create` (read by `parseWebhookBody`): a body of
// the wrong shape is 400 invalid_payload and closes nothing.

const idSchema = bodyIdSchema;

/** A line item's quantity: a JSON integer within what one order line can hold. */
const quantitySchema = z
  .custom<unknown>((value) => isLosslessNumber(value), 'must be a number')
  .transform((value) => Number(String(value)))
  .pipe(z.number().int().min(0).max(1_000_000));

const cancelledOrderSchema = z.object({
  id: idSchema,
  // A cancelled order always carries it; a body without it is not a cancellation.
  cancelled_at: z.string().pipe(z.iso.datetime({ offset: true })),
});

const refundSchema = z.object({
  id: idSchema,
  order_id: idSchema,
  refund_line_items: z
    .array(
      z.object({
        line_item_id: idSchema,
        quantity: quantitySchema,
        line_item: z.object({ quantity: quantitySchema }),
      }),
    )
    .max(10_000),
});

export interface CancelledOrder {
  order_id: string;
  cancelled_at: Date;
}

export interface Refund {
  refund_id: string;
  order_id: string;
  /** Per line item, the quantity this refund gives back (summed when a line is named twice) and the line's quantity. */
  items: { order_line_id: string; quantity: number; line_quantity: number }[];
}

export function parseCancelledOrder(rawBody: Buffer): CancelledOrder {
  const order = parseWebhookBody(rawBody, cancelledOrderSchema, 'a cancelled order');
  return { order_id: order.id, cancelled_at: new Date(order.cancelled_at) };
}

export function parseRefund(rawBody: Buffer): Refund {
  const refund = parseWebhookBody(rawBody, refundSchema, 'a refund');
  const items = new Map<string, Refund['items'][number]>();
  for (const item of refund.refund_line_items) {
    const seen = items.get(item.line_item_id);
    items.set(item.line_item_id, {
      order_line_id: item.line_item_id,
      quantity: (seen?.quantity ?? 0) + item.quantity,
      line_quantity: Math.max(seen?.line_quantity ?? 0, item.line_item.quantity),
    });
  }
  return { refund_id: refund.id, order_id: refund.order_id, items: [...items.values()] };
}
