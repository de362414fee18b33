import { z } from 'zod';
import { isDatabaseUnavailable } from '../db/errors.js';
import { registerOrderLines } from '../db/repositories/order-lines.js';
import { linesBeforeStart, nothingKnown, type LinesBeforeStart, type OrderLines } from '../db/repositories/orders.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../domain/ids.js';
import { groupCommit } from '../lib/group-commit.js';
import { groupRead } from '../lib/group-read.js';
import { settlesWithin } from '../lib/settles-within.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ServiceDeps } from '../services/deps.js';
import { ERRORS } from '../services/errors.js';
import { startFulfillment } from '../temporal/start-fulfillment.js';
import { closedLinesSchema, type OrderClosure } from './order-closure.js';
import { ignoredReasonSchema, type ParsedOrder } from './shopify.js';
import { AdmissionTimeoutError, StartAdmission } from './start-admission.js';
import { withTemporalDeadline } from './temporal-deadline.js';

/** What the intake answers for an order: the lines it started (or found started) and those it ignored. */
export const intakeAnswerSchema = z.object({
  accepted: z.array(
    z.object({
      order_line_id: z.string(),
      workflow_id: z.string(),
      status: z.enum(['started', 'duplicate']),
    }),
  ),
  ignored: z.array(z.object({ order_line_id: z.string(), reason: ignoredReasonSchema })),
  closed: closedLinesSchema
    .optional()
    .describe('orders/cancelled and refunds/create only: the personalized lines closed (or found closed), with their status now'),
});
export type IntakeAnswer = z.infer<typeof intakeAnswerSchema>;

/** Where an order came from: the shop, and the delivery (or sweep) that brought it. */
export interface OrderSource {
  shop_id: string;
  webhook_id: string;
  received_at: string;
}

/** The least a registration is waited for when the starts used up the budget. */
const MIN_REGISTRATION_WAIT_MS = 500;

/** What an order starts: one `FulfillOrderLine` per personalized line. The one decision, whoever brings the order. */
export const linesToStart = (source: OrderSource, order: ParsedOrder): FulfillmentInput[] =>
  // A cancelled order starts nothing, whoever brings it (`admitOrder` records its cancellation).
  (order.cancelled_at ? [] : order.personalized).map((line) => ({
    shop_id: source.shop_id,
    order_id: order.order_id,
    order_line_id: line.order_line_id,
    personalization_id: line.personalization_id,
    webhook_id: source.webhook_id,
    received_at: source.received_at,
    order_lines: order.personalized.length,
  }));

export interface OrderAdmissionDeps extends Pick<ServiceDeps, 'db' | 'temporal' | 'temporalTimeoutMs'> {
  /** The order's closures: what an order that arrives cancelled records. */
  closure: OrderClosure;
  /** `PREVIEW_WAIT_SECONDS`, told to each line's run at its start. */
  previewWaitSeconds: number;
  /** Workflow starts in flight at once before deliveries wait for room (see `StartAdmission`). */
  startCapacity: number;
}

export type OrderAdmission = ReturnType<typeof createOrderAdmission>;

/**
 * What an order starts, whoever brings it: a webhook's `orders/create` or `orders/paid`, or a
 * reconciliation sweep's order read from the Admin API. The one path for both.
 */
export function createOrderAdmission({ db, temporal, temporalTimeoutMs, closure, previewWaitSeconds, startCapacity }: OrderAdmissionDeps) {
  const startAdmission = new StartAdmission(startCapacity);
  // Order deliveries arriving while a read runs share the next one, instead of a round trip each.
  const readBeforeStart = groupRead((orders: readonly OrderLines[]) => linesBeforeStart(db, orders));
  // Deliveries arriving while an insert runs share the next one, instead of a statement each.
  const insertTakenLines = groupCommit((lines: FulfillmentInput[]) => registerOrderLines(db, lines));

  /**
   * All starts at once, all settled before answering (unless Temporal overruns the deadline):
   * no start is left running behind a 503. Each line Temporal took goes into `taken`, also
   * when others failed.
   */
  function startAll(inputs: FulfillmentInput[], deadline: number, taken: FulfillmentInput[]): Promise<IntakeAnswer['accepted']> {
    return withTemporalDeadline(temporal.client, deadline - Date.now(), async () => {
      const outcomes = await Promise.allSettled(
        inputs.map(async (input) => {
          const outcome = await startFulfillment(temporal.client, { taskQueue: temporal.taskQueue, previewWaitSeconds }, input);
          taken.push(input);
          return { order_line_id: input.order_line_id, ...outcome };
        }),
      );
      return outcomes.map((outcome) => {
        if (outcome.status === 'rejected') throw outcome.reason;
        return outcome.value;
      });
    });
  }

  /**
   * Registers the lines Temporal took, and only those: a line whose start failed would read
   * `processing` with nothing running, for good if Shopify stopped redelivering. It lets the
   * status route know the lines once Shopify has its answer, and is best effort within the
   * delivery's budget: each workflow registers its own line too, so a database that fails or
   * stalls neither turns the delivery away nor holds its answer.
   */
  async function register(log: RequestLog, lines: FulfillmentInput[], deadline: number): Promise<void> {
    if (lines.length === 0) return;
    const context = { lines: lines.length };
    // Once the delivery is answered, lines still waiting for their insert are left to their workflows.
    const answered = new AbortController();
    const registration = insertTakenLines(lines, answered.signal).catch((error: unknown) => {
      const level = isDatabaseUnavailable(error) ? 'warn' : 'error';
      log.logger[level]({ ...context, err: error }, 'lines not registered at intake; their workflows register them');
    });
    if (!(await settlesWithin(registration, Math.max(deadline - Date.now(), MIN_REGISTRATION_WAIT_MS)))) {
      answered.abort();
      log.logger.warn(context, 'database slow: answered before the lines were registered; their workflows register them');
    }
  }

  /**
   * Starts the order's personalized lines (a redelivery finds them `duplicate`) and registers
   * those Temporal took. Lines closed before the order came (cancelled, refunded) start nothing.
   */
  async function admitOrder(source: OrderSource, received: ParsedOrder, log: RequestLog): Promise<IntakeAnswer> {
    if (received.cancelled_at) return admitCancelledOrder(source, received, received.cancelled_at, log);
    const { order, settled } = await withoutKnownLines(source, received, log);
    const inputs = linesToStart(source, order);
    // Admitted as a whole within half the budget (Temporal keeps up, or Shopify retries);
    // the starts then get what is left of it, and the registration after them too, its
    // slots already free for the next delivery.
    const deadline = Date.now() + temporalTimeoutMs;
    const taken: FulfillmentInput[] = [];
    let accepted: IntakeAnswer['accepted'] = [];
    try {
      if (inputs.length > 0) {
        accepted = await startAdmission
          .run(inputs.length, temporalTimeoutMs / 2, () => startAll(inputs, deadline, taken))
          .catch((error: unknown) => {
            if (!(error instanceof AdmissionTimeoutError)) throw error;
            log.logger.warn({ lines: inputs.length }, 'intake saturated: delivery turned away for Shopify to retry');
            throw ERRORS.temporalUnavailable();
          });
      }
    } finally {
      // Also when some starts failed: the lines Temporal did take are running.
      await register(log, [...taken], deadline);
    }

    // In the order's own line order, the settled lines among those started.
    const answered = new Map([...accepted, ...settled].map((line) => [line.order_line_id, line]));
    accepted = received.personalized.flatMap((line) => answered.get(line.order_line_id) ?? []);
    for (const line of accepted) {
      log.logger.info(line, line.status === 'started' ? 'fulfillment started' : 'fulfillment already started (duplicate delivery)');
    }
    logIgnored(log, order.ignored);
    return { accepted, ignored: order.ignored };
  }

  /**
   * An order that comes already cancelled (created cancelled, or its create or a sweep came after
   * Shopify cancelled it) starts nothing: its cancellation is recorded, as `orders/cancelled`
   * would, so a later `orders/paid` starts nothing either, and lines started before are closed.
   */
  async function admitCancelledOrder(source: OrderSource, order: ParsedOrder, cancelledAt: Date, log: RequestLog): Promise<IntakeAnswer> {
    // The lines it closes are logged; the answer is an order topic's, as the contract has it.
    await closure.cancel(source.shop_id, { order_id: order.order_id, cancelled_at: cancelledAt }, log);
    const ignored = [
      ...order.ignored,
      ...order.personalized.map(({ order_line_id }) => ({ order_line_id, reason: 'order_cancelled' as const })),
    ];
    logIgnored(log, ignored);
    return { accepted: [], ignored };
  }

  function logIgnored(log: RequestLog, lines: IntakeAnswer['ignored']): void {
    for (const line of lines) {
      log.logger.info({ order_line_id: line.order_line_id, reason: line.reason }, 'line item ignored');
    }
  }

  /**
   * The order without the lines the database already knows: those closed before it came move
   * to `ignored` with the closure as the reason, those an earlier run settled are answered
   * `duplicate` without a start (Temporal may have forgotten that run).
   */
  async function withoutKnownLines(
    source: OrderSource,
    order: ParsedOrder,
    log: RequestLog,
  ): Promise<{ order: ParsedOrder; settled: IntakeAnswer['accepted'] }> {
    if (order.personalized.length === 0) return { order, settled: [] };
    const lineIds = order.personalized.map((line) => line.order_line_id);
    const { closed, settled } = await knownBeforeStart({ shop_id: source.shop_id, order_id: order.order_id, line_ids: lineIds }, log);
    if (closed.size === 0 && settled.size === 0) return { order, settled: [] };
    return {
      order: {
        ...order,
        personalized: order.personalized.filter((line) => !closed.has(line.order_line_id) && !settled.has(line.order_line_id)),
        ignored: [...order.ignored, ...[...closed].map(([order_line_id, reason]) => ({ order_line_id, reason }))],
      },
      settled: [...settled].map((order_line_id) => ({
        order_line_id,
        workflow_id: fulfillmentWorkflowId({ shop_id: source.shop_id, order_line_id }),
        status: 'duplicate' as const,
      })),
    };
  }

  /**
   * What the database knows of a delivery's lines, read without the lock and given a quarter
   * of the delivery's budget: a closure recorded just after this, or not read because the
   * database is away or slow, is found by the line's own first step, which takes the lock.
   */
  async function knownBeforeStart(lines: OrderLines, log: RequestLog): Promise<LinesBeforeStart> {
    const read = readBeforeStart(lines);
    const unread = (error?: unknown): LinesBeforeStart => {
      log.logger.warn(
        { err: error },
        'lines not looked up (closures, earlier runs): they start, and each checks its order at its first step',
      );
      return nothingKnown();
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

  return { admitOrder, startAdmission };
}
