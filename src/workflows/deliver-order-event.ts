import { ActivityFailure, proxyActivities, proxyLocalActivities, setCurrentDetails } from '@temporalio/workflow';
import type { OrderEventActivities } from '../activities/order-events.js';
import type { OrderEventOutcome, OrderEventType, OrderRef } from '../domain/order-events.js';

export const DELIVER_ORDER_EVENT = 'DeliverOrderEvent';

/**
 * How a delivery retries: the first wait, the longest wait, one attempt's limit, and when it
 * gives up (24 h). Production uses the defaults; tests pass shorter ones (milliseconds).
 */
export interface DeliveryTiming {
  initial_interval_ms: number;
  maximum_interval_ms: number;
  attempt_timeout_ms: number;
  give_up_after_ms: number;
}

const DEFAULT_TIMING: DeliveryTiming = {
  initial_interval_ms: 10_000,
  maximum_interval_ms: 3_600_000,
  attempt_timeout_ms: 60_000,
  give_up_after_ms: 24 * 3_600_000,
};

/** Input of `DeliverOrderEvent`: ids only, no URL, no secret, no body (built at send time). */
export interface OrderEventDelivery extends OrderRef {
  event_id: string;
  type: OrderEventType;
  timing?: Partial<DeliveryTiming>;
}

/**
 * One order event to the print side, delivered at least once: the activity builds the body and
 * POSTs it, and anything but 2xx is retried with backoff (or after the receiver's Retry-After)
 * until 24 h have passed; then the delivery is recorded as given up. Each attempt first checks
 * the order: cancelled or redacted since, nothing more is sent.
 */
export async function DeliverOrderEvent(input: OrderEventDelivery): Promise<OrderEventOutcome> {
  const timing = { ...DEFAULT_TIMING, ...input.timing };
  const { sendOrderEvent } = proxyActivities<OrderEventActivities>({
    summary: `POST ${input.type} to ORDER_EVENTS_URL`,
    startToCloseTimeout: timing.attempt_timeout_ms,
    scheduleToCloseTimeout: timing.give_up_after_ms,
    retry: { initialInterval: timing.initial_interval_ms, backoffCoefficient: 2, maximumInterval: timing.maximum_interval_ms },
  });
  const { recordUndeliveredOrderEvent } = proxyLocalActivities<OrderEventActivities>({
    summary: 'Record the event as undelivered',
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });

  setCurrentDetails(
    `Delivering \`${input.type}\` (event id in the workflow id); the pending activity shows its attempts and last failure.`,
  );
  try {
    const outcome = await sendOrderEvent(input.event_id);
    setCurrentDetails(outcome === 'delivered' ? 'Delivered: the receiver answered 2xx.' : 'Stopped: the order was cancelled or redacted.');
    return outcome;
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    await recordUndeliveredOrderEvent(input.event_id);
    setCurrentDetails(`Undelivered after ${timing.give_up_after_ms / 3_600_000} h of retries: ${error.cause?.message ?? error.message}`);
    return 'undelivered';
  }
}
