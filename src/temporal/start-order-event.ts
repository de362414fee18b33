import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { orderEventWorkflowId, type OrderEvent } from '../domain/order-events.js';
import { DELIVER_ORDER_EVENT, type DeliverOrderEvent, type DeliveryTiming } from '../workflows/deliver-order-event.js';
import { codeSpan } from '../workflows/markdown.js';
import { OrderId, OrderLineId, ShopId } from '../workflows/search-attributes.js';
import type { TemporalAccess } from './temporal-access.js';

/**
 * Starts the event's delivery unless it runs or ran: its workflow id comes from the event's id,
 * so two lines announcing the same event, or a retried activity, start one delivery.
 */
export async function startOrderEventDelivery(
  temporal: TemporalAccess,
  event: OrderEvent,
  timing?: Partial<DeliveryTiming>,
): Promise<void> {
  const what = event.order_line_id ? `, line ${codeSpan(event.order_line_id)}` : '';
  try {
    await temporal.client.workflow.start<typeof DeliverOrderEvent>(DELIVER_ORDER_EVENT, {
      workflowId: orderEventWorkflowId(event.event_id),
      taskQueue: temporal.taskQueue,
      args: [
        { event_id: event.event_id, type: event.type, shop_id: event.shop_id, order_id: event.order_id, ...(timing ? { timing } : {}) },
      ],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: ShopId, value: event.shop_id },
        { key: OrderId, value: event.order_id },
        ...(event.order_line_id ? [{ key: OrderLineId, value: event.order_line_id }] : []),
      ],
      staticSummary: `\`${event.type}\` for order ${codeSpan(event.order_id)}${what} of ${codeSpan(event.shop_id)}`,
      staticDetails:
        `Event id ${codeSpan(event.event_id)} (the \`X-Printready-Event-Id\` header). ` +
        'The pending activity shows the attempts and the last failure; to send it again, reset the workflow to its first task.',
    });
  } catch (error) {
    // Delivered (or stopped, or given up) before: the id is not reused.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
