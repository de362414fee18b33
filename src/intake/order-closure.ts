import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { isDatabaseUnavailable } from '../db/errors.js';
import { cancelOrder, closureReasons, recordRefund, type ClosedLine } from '../db/repositories/orders.js';
import { CLOSED_STATUSES, type ClosureReason } from '../domain/line-status.js';
import { settlesWithin } from '../lib/settles-within.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ServiceDeps } from '../services/deps.js';
import { ERRORS } from '../services/errors.js';
import { linesTotal } from '../telemetry/metrics/metrics.js';
import { closureEvent, emitFulfillmentEvent } from '../telemetry/fulfillment-events.js';
import { closeSignal } from '../workflows/definitions.js';
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

export type ClosureDeps = Pick<ServiceDeps, 'db' | 'temporal' | 'telemetry' | 'temporalTimeoutMs'>;

/**
 * `orders/cancelled` and `refunds/create`: the closure is recorded under the order's lock (see
 * `db/repositories/orders.ts`), then each closed line's workflow is told to close. The answer
 * (200) waits for both, so a database or Temporal that is away answers 503 and Shopify delivers
 * again: the redelivery records nothing new and signals the lines again.
 */
export function createOrderClosure({ db, temporal, telemetry, temporalTimeoutMs }: ClosureDeps) {
  /** A closure read from its delivery (or from an order a sweep found cancelled), not yet written. */
  interface ClosureWrite {
    topic: ClosureTopic;
    order_id: string;
    run: () => Promise<ClosedLine[]>;
  }

  const cancellation = (shopId: string, { order_id, cancelled_at }: CancelledOrder): ClosureWrite => ({
    topic: 'orders/cancelled',
    order_id,
    run: () => cancelOrder(db, { shop_id: shopId, order_id }, cancelled_at),
  });

  // Parsed before anything is written: a malformed body closes nothing.
  function fromDelivery(topic: ClosureTopic, shopId: string, body: Buffer): ClosureWrite {
    if (topic === 'orders/cancelled') return cancellation(shopId, parseCancelledOrder(body));
    const { order_id, refund_id, items } = parseRefund(body);
    return { topic, order_id, run: () => recordRefund(db, { shop_id: shopId, order_id }, refund_id, items) };
  }

  async function record(write: ClosureWrite, log: RequestLog): Promise<ClosedLine[]> {
    log.bind({ order_id: write.order_id });
    try {
      return await write.run();
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw ERRORS.databaseUnavailable();
      throw error;
    }
  }

  /** Tells each line's workflow to close; one that has completed (or was never started) has nothing to stop. */
  async function signalLines(lines: readonly ClosedLine[], reason: ClosureReason): Promise<void> {
    await withTemporalDeadline(temporal.client, temporalTimeoutMs, async () => {
      await Promise.all(
        lines.map(async (line) => {
          try {
            await temporal.client.workflow.getHandle(line.workflow_id).signal(closeSignal, { reason });
          } catch (error) {
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          }
        }),
      );
    });
  }

  async function close(write: ClosureWrite, log: RequestLog): Promise<ClosedLines> {
    const reason = CLOSURE_TOPICS[write.topic];
    const lines = await record(write, log);
    await signalLines(lines, reason);
    // Reported by whoever changed the line's row, under a key per line: a redelivery (or the
    // line's workflow reporting the same closure) counts once.
    for (const line of lines.filter((closed) => closed.changed)) {
      linesTotal.inc({ status: line.status });
      await emitFulfillmentEvent(telemetry, { runId: 'intake' }, line, closureEvent(line.status, reason));
    }
    const newlyClosed = lines.filter((line) => line.changed).length;
    log.logger.info({ topic: write.topic, closed: lines.length, newly_closed: newlyClosed }, 'order lines closed');
    return lines.map(({ order_line_id, status }) => ({ order_line_id, status }));
  }

  /** A closure webhook: `orders/cancelled` or `refunds/create`, its body the raw bytes Shopify signed. */
  const receive = (topic: ClosureTopic, shopId: string, body: Buffer, log: RequestLog): Promise<ClosedLines> =>
    close(fromDelivery(topic, shopId, body), log);

  /** An order already read as cancelled (a sweep found it so): closed exactly as its `orders/cancelled` would. */
  const cancel = (shopId: string, order: CancelledOrder, log: RequestLog): Promise<ClosedLines> => close(cancellation(shopId, order), log);

  /**
   * The lines of an order delivery that were closed before it arrived (the cancellation or
   * refund came first): they start nothing. Read without the lock, and given a quarter of the
   * delivery's budget: a closure recorded just after this, or not read because the database is
   * away or slow, is found by the line's own first step, which takes the lock.
   */
  async function closedBeforeStart(
    shopId: string,
    orderId: string,
    lineIds: readonly string[],
    log: RequestLog,
  ): Promise<Map<string, ClosureReason>> {
    const read = closureReasons(db, { shop_id: shopId, order_id: orderId }, lineIds);
    const unread = (error?: unknown) => {
      log.logger.warn({ err: error }, 'closures not read: the lines start, and each checks its order at its first step');
      return new Map<string, ClosureReason>();
    };
    if (!(await settlesWithin(read, temporalTimeoutMs / 4))) {
      read.catch(() => undefined);
      return unread();
    }
    try {
      return await read;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      return unread(error);
    }
  }

  return { receive, cancel, closedBeforeStart };
}
