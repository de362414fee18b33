import { z } from 'zod';
import { lineStatusSchema } from './line-status.js';
import { reasonCodeSchema } from './reasons.js';

/** The order events printready POSTs to `ORDER_EVENTS_URL` (contract, The order as a unit). */
export const ORDER_EVENT_TYPES = ['order.ready_for_print', 'order.needs_attention'] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/** How an event's delivery ended: accepted (2xx), stopped (its order cancelled or redacted), or given up after 24 h. */
export type OrderEventOutcome = 'delivered' | 'stopped' | 'undelivered';

export interface OrderRef {
  shop_id: string;
  order_id: string;
}

/** An event to deliver: its deterministic id (also the `X-Printready-Event-Id`), and whom it is about. */
export interface OrderEvent extends OrderRef {
  event_id: string;
  type: OrderEventType;
  /** needs_attention: the failed line and its failure's key. */
  order_line_id: string | null;
  failure_key: string | null;
}

/** Once per order, whichever of its lines finds it ready first. */
export const readyForPrintEvent = (order: OrderRef): OrderEvent => ({
  event_id: `order-event:${order.shop_id}:${order.order_id}:ready_for_print`,
  type: 'order.ready_for_print',
  shop_id: order.shop_id,
  order_id: order.order_id,
  order_line_id: null,
  failure_key: null,
});

/** Once per failure of a line: its failure key is unique per failed attempt of a run. */
export const needsAttentionEvent = (line: OrderRef & { order_line_id: string }, failureKey: string): OrderEvent => ({
  event_id: `order-event:${line.shop_id}:${line.order_id}:${line.order_line_id}:needs_attention:${failureKey}`,
  type: 'order.needs_attention',
  shop_id: line.shop_id,
  order_id: line.order_id,
  order_line_id: line.order_line_id,
  failure_key: failureKey,
});

/** The `DeliverOrderEvent` workflow of an event: one per event, found in the Temporal UI by this id. */
export const orderEventWorkflowId = (eventId: string): string => `${eventId}:delivery`;

/** A line of a ready order as the print side gets it (batch route and ready event): its URL, or nulls for a line not to print. */
export const orderLineUrlSchema = z.object({
  order_line_id: z.string(),
  status: lineStatusSchema,
  url: z.string().nullable(),
  expires_at: z.string().nullable(),
  sha256: z.string().nullable(),
  size_bytes: z.number().int().nullable(),
  content_type: z.string().nullable(),
});

export const attentionLineSchema = z.object({
  order_line_id: z.string(),
  status: lineStatusSchema,
  reason_code: reasonCodeSchema,
  reason_message: z.string(),
  recovery_guidance: z.string(),
});

/** The JSON body the print side receives, the same bytes the signature covers. */
export const orderEventBodySchema = z.object({
  id: z.string(),
  type: z.enum(ORDER_EVENT_TYPES),
  created_at: z.string(),
  shop_id: z.string(),
  order_id: z.string(),
  lines: z.union([z.array(orderLineUrlSchema), z.array(attentionLineSchema)]),
});
export type OrderEventBody = z.infer<typeof orderEventBodySchema>;
