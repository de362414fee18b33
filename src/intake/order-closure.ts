import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { cancelOrder, closeLine, recordRefund, type ClosedLine, type Closure, type WorkingLine } from '../db/repositories/orders.js';
import { CLOSED_STATUSES, type ClosureReason } from '../domain/line-status.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ServiceDeps } from '../services/deps.js';
import { linesTotal } from '../telemetry/metrics/metrics.js';
import { closureEvent, emitFulfillmentEvent } from '../telemetry/fulfillment-events.js';
import { knownLineRun, restartFulfillment } from '../temporal/start-fulfillment.js';
import { closeSignal } from '../workflows/definitions.js';
import { FulfillmentStatus } from '../workflows/search-attributes.js';
import { parseCancelledOrder, parseRefund, type CancelledOrder } from './closure-payloads.js';
import { withTemporalDeadline } from './temporal-deadline.js';

/** The topics that close an order's lines, and the reason each gives. */
const CLOSURE_TOPICS = { 'orders/cancelled': 'order_cancelled', 'refunds/create': 'line_refunded' } as const satisfies Record<
  string,
  ClosureReason
>;
export type ClosureTopic = keyof typeof CLOSURE_TOPICS;
export const isClosureTopic = (topic: string): topic is ClosureTopic => Object.hasOwn(CLOSURE_TOPICS, topic);

/**
 * What a closure delivery answers: every personalized line it closed, or found closed (so a
 * redelivery answers the same), with its status now. Lines not known yet are not listed: they
 * find the closure when they start.
 */
export const closedLinesSchema = z.array(z.object({ order_line_id: z.string(), status: z.enum(CLOSED_STATUSES) }));
export type ClosedLines = z.infer<typeof closedLinesSchema>;

const byLineId = (a: { order_line_id: string }, b: { order_line_id: string }) => (a.order_line_id < b.order_line_id ? -1 : 1);

export type ClosureDeps = Pick<ServiceDeps, 'db' | 'temporal' | 'telemetry' | 'temporalTimeoutMs'>;

/**
 * `orders/cancelled` and `refunds/create`: the closure is recorded under the order's lock (see
 * `db/repositories/orders.ts`), then each line's workflow is told to close. The answer
 * (200) waits for both, so a database or Temporal that is away answers 503 and Shopify delivers
 * again: the redelivery records nothing new and signals the lines again.
 */
export function createOrderClosure({ db, temporal, telemetry, temporalTimeoutMs }: ClosureDeps) {
  /** Tells the line's workflow to close: false when it is not running (completed, or never started). */
  async function signalLine(line: WorkingLine, reason: ClosureReason): Promise<boolean> {
    try {
      await temporal.client.workflow.getHandle(line.workflow_id).signal(closeSignal, { reason });
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  /**
   * Reported by whoever changed the line's row, under a key per line: a redelivery (or the
   * line's workflow reporting the same closure) counts once.
   */
  async function report(lines: readonly ClosedLine[], reason: ClosureReason): Promise<void> {
    for (const line of lines.filter((line) => line.changed)) {
      linesTotal.inc({ status: line.status });
      await emitFulfillmentEvent(telemetry, { runId: 'intake' }, line, closureEvent(line.status, reason));
    }
  }

  /**
   * A line closed while its workflow no longer runs (a persisted line's has ended) gets a short
   * run that finds it closed, so Temporal's `status` query and `FulfillmentStatus` read as the
   * database does. Also on a redelivery, when the first delivery's run could not start: the
   * latest run is asked what it says.
   */
  async function recordInTemporal(line: ClosedLine, reason: ClosureReason): Promise<void> {
    if (!line.changed) {
      try {
        const latest = await temporal.client.workflow.getHandle(line.workflow_id).describe();
        if (latest.typedSearchAttributes.get(FulfillmentStatus) === line.status) return;
      } catch (error) {
        // Forgotten by Temporal (past its retention): nothing there reads otherwise.
        if (error instanceof WorkflowNotFoundError) return;
        throw error;
      }
    }
    // Null when a run started meanwhile: it opens the line under the order's lock and finds it closed.
    await restartFulfillment(temporal.client, temporal.taskQueue, knownLineRun(line, `closure:${reason}`));
  }

  /**
   * Records a closure (`write`, under the order's lock), then signals the lines it reached and
   * reports those it changed. A working line is closed by its workflow; one whose workflow no
   * longer runs (terminated by hand) has no copy in flight, and is closed here; either kind of
   * line whose workflow has ended is recorded in Temporal by a short run (`recordInTemporal`).
   */
  async function close(reason: ClosureReason, write: () => Promise<Closure>, log: RequestLog): Promise<ClosedLines> {
    // A database away answers 503 not_ready (the error handler maps it) for Shopify to deliver again.
    const { closed, working } = await write();
    // Reported before Temporal is called: a Temporal away answers 503, and the redelivery then
    // changes no row and reports nothing.
    await report(closed, reason);
    // One budget for every Temporal call of the delivery, within Shopify's 5 s.
    const deadline = Date.now() + temporalTimeoutMs;
    const signalled = await withTemporalDeadline(temporal.client, deadline - Date.now(), () =>
      Promise.all([...closed, ...working].map((line) => signalLine(line, reason))),
    );
    const stopped = working.filter((_, index) => !signalled[closed.length + index]);
    const closedHere = await Promise.all(stopped.map((line) => closeLine(db, line)));
    await report(closedHere, reason);
    const lines = [...closed, ...closedHere];
    const notRunning = lines.filter((_, index) => index >= closed.length || !signalled[index]);
    await withTemporalDeadline(temporal.client, deadline - Date.now(), () =>
      Promise.all(notRunning.map((line) => recordInTemporal(line, reason))),
    );
    const newlyClosed = lines.filter((line) => line.changed).length;
    log.logger.info(
      { reason, closed: lines.length, newly_closed: newlyClosed, working: working.length - stopped.length },
      'order lines closed',
    );
    return lines.map(({ order_line_id, status }) => ({ order_line_id, status })).sort(byLineId);
  }

  /** An order Shopify cancelled, from `orders/cancelled` or from an order that arrives cancelled: every line closes. */
  function cancel(shopId: string, { order_id, cancelled_at }: CancelledOrder, log: RequestLog): Promise<ClosedLines> {
    log.bind({ order_id });
    return close('order_cancelled', () => cancelOrder(db, { shop_id: shopId, order_id }, cancelled_at), log);
  }

  /** `orders/cancelled` and `refunds/create`. The body is parsed before anything is written: a malformed one closes nothing. */
  function receive(topic: ClosureTopic, shopId: string, body: Buffer, log: RequestLog): Promise<ClosedLines> {
    if (topic === 'orders/cancelled') return cancel(shopId, parseCancelledOrder(body), log);
    const { order_id, refund_id, items } = parseRefund(body);
    log.bind({ order_id });
    return close(CLOSURE_TOPICS[topic], () => recordRefund(db, { shop_id: shopId, order_id }, refund_id, items), log);
  }

  return { receive, cancel };
}

export type OrderClosure = ReturnType<typeof createOrderClosure>;
