import { isLosslessNumber, parse } from 'lossless-json';
import { z } from 'zod';
import { shopifyIdSchema } from '../domain/ids.js';
import { ERRORS } from '../services/errors.js';

// The bodies of `orders/cancelled` and `refunds/create`, read without losing ids above 2^53
// (lossless-json keeps every number's decimal text) and checked with zod: a body of the wrong
// shape is 400 invalid_payload and closes nothing.

/** A Shopify id: a JSON number (exact) or its decimal text. */
const idSchema = z
  .custom<unknown>((value) => isLosslessNumber(value) || typeof value === 'string', 'must be a Shopify id')
  .transform((value) => String(value))
  .pipe(shopifyIdSchema);

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

function parseBody<T>(rawBody: Buffer, schema: z.ZodType<T>, what: string): T {
  let body: unknown;
  try {
    body = parse(rawBody.toString('utf8'));
  } catch {
    throw ERRORS.invalidPayload('The body is not valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ERRORS.invalidPayload(`The body is not ${what}: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

export function parseCancelledOrder(rawBody: Buffer): CancelledOrder {
  const order = parseBody(rawBody, cancelledOrderSchema, 'a cancelled order');
  return { order_id: order.id, cancelled_at: new Date(order.cancelled_at) };
}

export function parseRefund(rawBody: Buffer): Refund {
  const refund = parseBody(rawBody, refundSchema, 'a refund');
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
