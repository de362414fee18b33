import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { eventToDeliver, failureOf, finishOrderEvent, orderLineStatusCounts, recordOrderEvent } from '../db/repositories/order-events.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { LineIdentity } from '../domain/line-identity.js';
import {
  needsAttentionEvent,
  orderEventWorkflowId,
  readyForPrintEvent,
  type OrderEvent,
  type OrderEventBody,
  type OrderEventOutcome,
} from '../domain/order-events.js';
import { orderStatus } from '../domain/order-status.js';
import { AppError } from '../services/errors.js';
import { readOrder, signOrderLines } from '../services/orders.js';
import { TELEMETRY_EVENTS } from '../telemetry/events.js';
import { orderEventsTotal } from '../telemetry/metrics/metrics.js';
import { startOrderEventDelivery } from '../temporal/start-order-event.js';
import type { DeliveryTiming } from '../workflows/deliver-order-event.js';
import type { ActivityDeps } from './deps.js';

/** `ORDER_EVENTS_URL` and what goes with it; absent, no event is recorded or sent. */
export interface OrderEventsSettings {
  url: string;
  /** `ORDER_EVENTS_SECRET`: read here at send time, never part of a workflow's input or history. */
  secret: string;
  /** `ORDER_EVENTS_URL_TTL_SECONDS`: lifetime of a ready event's signed URLs. */
  urlTtlSeconds: number;
  /** Shorter retries for tests; production takes the workflow's defaults. */
  timing?: Partial<DeliveryTiming>;
}

/** The longest a delivery attempt waits for the receiver (less when the attempt's own limit is shorter). */
const RECEIVER_TIMEOUT_MS = 10_000;
/** A receiver's Retry-After is honoured up to this long; a longer one would outlast the day of retries. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * What the steps of a line's workflow announce after their own commit: the order's ready event
 * when the line leaves it ready (read from committed state, so of two lines committing at once
 * the later sees both), and a needs-attention event per failure. Both are idempotent: the event
 * row is inserted once and the delivery's workflow id comes from the event id.
 */
export function orderEventAnnouncer({ db, telemetry, temporal, orderEvents }: ActivityDeps) {
  async function announce(event: OrderEvent): Promise<void> {
    if (!orderEvents) return;
    const { finished } = await recordOrderEvent(db, event);
    if (!finished) await startOrderEventDelivery(temporal, event, orderEvents.timing);
  }

  return {
    /**
     * After a line persisted or closed: its order may be ready now, once every line the intake
     * started for it has a row (a sibling whose row is not written yet is not ready).
     */
    async lineSettled(line: FulfillmentInput): Promise<void> {
      const counts = await orderLineStatusCounts(db, line);
      const known = [...counts.values()].reduce((sum, lines) => sum + lines, 0);
      if (orderStatus(counts.keys()) !== 'ready_for_print' || known < (line.order_lines ?? 1)) return;
      const event = readyForPrintEvent(line);
      await telemetry.capture({
        name: TELEMETRY_EVENTS.orderReadyForPrint,
        idempotency_key: event.event_id,
        properties: {
          shop_id: event.shop_id,
          order_id: event.order_id,
          event_id: event.event_id,
          event_type: event.type,
          workflow_id: orderEventWorkflowId(event.event_id),
        },
      });
      await announce(event);
    },
    /** After a line's failure was recorded (`failureKey` is the failure log's key). */
    lineFailed: (line: LineIdentity, failureKey: string): Promise<void> => announce(needsAttentionEvent(line, failureKey)),
  };
}

/** Seconds or an HTTP date, as Retry-After allows; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** The activities of `DeliverOrderEvent`. */
export function createOrderEventActivities({ db, storage, telemetry, orderEvents }: ActivityDeps) {
  const count = (type: string, outcome: OrderEventOutcome | 'refused') => orderEventsTotal.inc({ type, outcome });

  /** The body as of now: a ready event's lines with fresh URLs, a needs-attention event's failed line; undefined: nothing to send. */
  async function bodyOf(event: OrderEvent & { created_at: Date }, settings: OrderEventsSettings): Promise<OrderEventBody | undefined> {
    const head = {
      id: event.event_id,
      type: event.type,
      created_at: event.created_at.toISOString(),
      shop_id: event.shop_id,
      order_id: event.order_id,
    };
    if (event.type === 'order.needs_attention') {
      const failure = event.failure_key ? await failureOf(db, event.shop_id, event.failure_key) : undefined;
      if (!failure) return undefined;
      const { order_line_id, reason_code, message, recovery_guidance } = failure;
      return { ...head, lines: [{ order_line_id, status: 'failed', reason_code, reason_message: message, recovery_guidance }] };
    }
    const order = await readOrder(db, event);
    if (order?.status !== 'ready_for_print') return undefined;
    const log = Context.current().log;
    const lines = await signOrderLines(
      storage,
      order,
      { expiresInSeconds: settings.urlTtlSeconds, download: false },
      {
        error: (obj, msg) => {
          log.error(msg, { ...obj });
        },
      },
    );
    return { ...head, lines };
  }

  return {
    /**
     * One delivery attempt: stops (quietly) when the order was cancelled or redacted, or has
     * nothing to send any more; otherwise POSTs the signed body, and anything but 2xx fails the
     * attempt for the workflow's retry policy (after the receiver's Retry-After, when it gives one).
     */
    sendOrderEvent: async (eventId: string): Promise<OrderEventOutcome> => {
      if (!orderEvents) throw ApplicationFailure.nonRetryable('ORDER_EVENTS_URL is not set on this worker', 'not_configured');
      const event = await eventToDeliver(db, eventId);
      if (!event) throw ApplicationFailure.nonRetryable(`no order event ${eventId} is recorded`, 'unknown_event');
      const context = Context.current();
      const stop = async (why: string): Promise<OrderEventOutcome> => {
        context.log.info('order event not sent', { event_id: eventId, why });
        await finishOrderEvent(db, eventId, 'stopped');
        count(event.type, 'stopped');
        return 'stopped';
      };
      if (event.cancelled_at) return stop('order cancelled');
      if (event.redacted) return stop('order redacted');
      let body: OrderEventBody | undefined;
      try {
        body = await bodyOf(event, orderEvents);
      } catch (error) {
        // Storage down, or an asset missing that an operator may restore: the attempt is retried.
        if (error instanceof AppError) throw ApplicationFailure.retryable(error.message, error.code);
        throw error;
      }
      if (!body) return stop('nothing to send any more');

      const raw = JSON.stringify(body);
      const signature = createHmac('sha256', orderEvents.secret).update(raw).digest('hex');
      const timeoutMs = Math.min(RECEIVER_TIMEOUT_MS, context.info.startToCloseTimeoutMs / 2);
      let response: Response;
      try {
        response = await fetch(orderEvents.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-printready-event-id': eventId,
            'x-printready-signature': `sha256=${signature}`,
            'user-agent': 'printready',
          },
          body: raw,
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), context.cancellationSignal]),
        });
      } catch (error) {
        count(event.type, 'refused');
        // The cause's code only: the receiver's URL, which may carry a token, stays out of the history.
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        const code = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.name) : 'error';
        throw ApplicationFailure.retryable(`the receiver could not be reached (${code})`, 'receiver_unreachable');
      }
      await response.body?.cancel();
      if (response.ok) {
        await finishOrderEvent(db, eventId, 'delivered');
        count(event.type, 'delivered');
        context.log.info('order event delivered', { event_id: eventId, status: response.status });
        return 'delivered';
      }
      count(event.type, 'refused');
      const nextRetryDelay = retryAfterMs(response.headers.get('retry-after'));
      throw ApplicationFailure.create({
        type: 'receiver_refused',
        message: `the receiver answered ${response.status}`,
        ...(nextRetryDelay === undefined ? {} : { nextRetryDelay }),
      });
    },

    /** After a day of refused attempts: recorded, counted and reported (`order.event.delivery_failed`). */
    recordUndeliveredOrderEvent: async (eventId: string): Promise<void> => {
      const event = await eventToDeliver(db, eventId);
      if (!event) return;
      await finishOrderEvent(db, eventId, 'undelivered');
      count(event.type, 'undelivered');
      await telemetry.capture({
        name: TELEMETRY_EVENTS.orderEventDeliveryFailed,
        idempotency_key: `${eventId}:delivery_failed`,
        properties: {
          shop_id: event.shop_id,
          order_id: event.order_id,
          event_id: eventId,
          event_type: event.type,
          workflow_id: orderEventWorkflowId(eventId),
        },
      });
    },
  };
}

export type OrderEventActivities = ReturnType<typeof createOrderEventActivities>;
