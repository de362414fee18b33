import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AdminToken } from '../config/config.js';
import { advanceWatermark, knownLineIds, readWatermark } from '../db/repositories/reconciliation.js';
import type { ReconcileCounts, ReconcileRequest, ReconcileSummary } from '../domain/reconcile.js';
import { readAdminOrder } from '../intake/admin-order.js';
import { createOrderAdmission, type OrderSource } from '../intake/order-admission.js';
import { createOrderClosure } from '../intake/order-closure.js';
import { activityLog } from '../logging/activity-log.js';
import { ShopifyAdminClient, type ShopifyAdminSettings } from '../shopify-admin/admin-client.js';
import { ShopifyAdminError } from '../shopify-admin/admin-errors.js';
import type { AdminOrder } from '../shopify-admin/orders-query.js';
import { TELEMETRY_EVENTS } from '../telemetry/events.js';
import type { ActivityDeps } from './deps.js';

/** What reconciliation needs besides the activities' common deps: `SHOPIFY_ADMIN_*`. */
export interface ReconcileSettings {
  /** The shops reconciliation may read, each with its token (read here, never passed through a workflow). */
  tokens: readonly AdminToken[];
  admin: ShopifyAdminSettings;
}

/** A sweep asks again for what the previous one may have read just before an order changed. */
export const SWEEP_OVERLAP_MS = 5 * 60_000;
/** A shop's first sweep reads this far back: six times the 4 h over which Shopify retries a webhook. */
export const FIRST_SWEEP_LOOKBACK_MS = 24 * 3600_000;
/** A sweep is not held to Shopify's 5 s: its starts get a longer budget, and fewer at once than the API's. */
const INTAKE_BUDGET_MS = 30_000;
const START_CAPACITY = 64;

export interface PageRequest {
  shop_id: string;
  reconcile_id: string;
  from: string;
  after: string | null;
}

export interface PageOutcome extends ReconcileCounts {
  has_next_page: boolean;
  end_cursor: string | null;
  /** The greatest `updatedAt` on the page, null for an empty page. */
  updated_through: string | null;
}

const NONE: ReconcileCounts = { orders_seen: 0, lines_started: 0, orders_cancelled: 0 };

/**
 * The activities of `ReconcileShop`: read the Admin API's orders and feed each through the
 * intake's own order admission (`admitOrder`, which records a cancelled order's cancellation), as
 * its webhook would have been.
 */
export function createReconcileActivities(deps: ActivityDeps) {
  const { db, telemetry } = deps;
  const temporalTimeoutMs = INTAKE_BUDGET_MS;
  const admission = createOrderAdmission({
    db,
    temporal: deps.temporal,
    closure: createOrderClosure({ db, temporal: deps.temporal, telemetry, temporalTimeoutMs }),
    temporalTimeoutMs,
    previewWaitSeconds: deps.previewWaitSeconds,
    startCapacity: START_CAPACITY,
  });

  /** The shop's token and where its Admin API is, from the configuration; a shop without one cannot be reconciled. */
  function configured(shopId: string): { token: string; admin: ShopifyAdminSettings } {
    const entry = deps.reconcile?.tokens.find((token) => token.shop_id === shopId);
    if (!deps.reconcile || !entry) {
      throw ApplicationFailure.create({
        type: 'not_configured',
        nonRetryable: true,
        message: `No Admin API token for ${shopId} in SHOPIFY_ADMIN_TOKENS`,
      });
    }
    return { token: entry.token, admin: deps.reconcile.admin };
  }

  /** The shop's Admin API; waiting out its throttling heartbeats, and ends on cancellation. */
  function adminOf(shopId: string): ShopifyAdminClient {
    const { token, admin } = configured(shopId);
    const context = Context.current();
    return new ShopifyAdminClient(shopId, token, admin, {
      signal: context.cancellationSignal,
      wait: async (ms, why) => {
        context.log.info('Admin API throttled: waiting', { shop_id: shopId, wait_ms: ms, why });
        await heartbeatingSleep(context, ms, { throttled: why });
      },
      progress: (details) => context.heartbeat(details),
    });
  }

  /** Feeds a page's orders through the intake at once (`StartAdmission` bounds the starts in flight). */
  async function feed(shopId: string, reconcileId: string, orders: readonly AdminOrder[]): Promise<ReconcileCounts> {
    const source: OrderSource = { shop_id: shopId, webhook_id: reconcileId, received_at: new Date().toISOString() };
    const read = orders.map(readAdminOrder);
    const candidates = read.flatMap((order) => (order.cancelled_at ? [] : order.personalized.map((line) => line.order_line_id)));
    // One query for the page: most orders' lines were started by their webhook.
    const known = await knownLineIds(db, shopId, candidates);
    const context = Context.current();
    const outcomes = await Promise.all(
      read.map(async (order): Promise<ReconcileCounts> => {
        const log = activityLog(context.log, { shop_id: shopId, order_id: order.order_id, webhook_id: reconcileId });
        if (order.cancelled_at) {
          await admission.admitOrder(source, order, log);
          return { ...NONE, orders_seen: 1, orders_cancelled: 1 };
        }
        const fresh = order.personalized.filter((line) => !known.has(line.order_line_id));
        if (fresh.length === 0) return { ...NONE, orders_seen: 1 };
        const answer = await admission.admitOrder(source, { ...order, personalized: fresh }, log);
        return { ...NONE, orders_seen: 1, lines_started: answer.accepted.filter((line) => line.status === 'started').length };
      }),
    );
    return outcomes.reduce(addCounts, NONE);
  }

  return {
    /** Where a sweep starts reading: `since`, or the shop's watermark less the overlap, or the first sweep's lookback. */
    beginSweep: async (request: ReconcileRequest): Promise<{ from: string }> => {
      configured(request.shop_id);
      if (request.since) return { from: request.since };
      const watermark = await readWatermark(db, request.shop_id);
      const from = watermark ? watermark.getTime() - SWEEP_OVERLAP_MS : Date.now() - FIRST_SWEEP_LOOKBACK_MS;
      return { from: new Date(from).toISOString() };
    },

    reconcilePage: (page: PageRequest): Promise<PageOutcome> =>
      adminFailures(async () => {
        const orders = await adminOf(page.shop_id).ordersUpdatedSince(new Date(page.from), page.after);
        Context.current().heartbeat({ orders: orders.nodes.length });
        const counts = await feed(page.shop_id, page.reconcile_id, orders.nodes);
        return {
          ...counts,
          has_next_page: orders.pageInfo.hasNextPage,
          end_cursor: orders.pageInfo.endCursor,
          updated_through: latest(orders.nodes.map((order) => order.updatedAt)),
        };
      }),

    reconcileOrder: (request: { shop_id: string; reconcile_id: string; order_id: string }): Promise<ReconcileCounts> =>
      adminFailures(async () => {
        const order = await adminOf(request.shop_id).order(request.order_id);
        if (!order) {
          throw ApplicationFailure.create({
            type: 'order_not_found',
            nonRetryable: true,
            message: `${request.shop_id} has no order ${request.order_id} (or the token may not read it)`,
          });
        }
        return feed(request.shop_id, request.reconcile_id, [order]);
      }),

    /** Records a completed sweep's reach (only ever forward), reports it to PostHog and logs it. */
    completeReconcile: async (summary: ReconcileSummary): Promise<void> => {
      if (summary.kind === 'sweep' && summary.updated_through) {
        await advanceWatermark(db, summary.shop_id, new Date(summary.updated_through), summary.reconcile_id);
      }
      const { shop_id, reconcile_id, kind, orders_seen, lines_started, orders_cancelled } = summary;
      await telemetry.capture({
        name: TELEMETRY_EVENTS.reconcileCompleted,
        // One event per sweep, also when this activity is retried.
        idempotency_key: `${reconcile_id}:${TELEMETRY_EVENTS.reconcileCompleted}`,
        properties: { shop_id, reconcile_id, kind, orders_seen, lines_started, orders_cancelled },
        occurred_at: new Date(Context.current().info.scheduledTimestampMs),
      });
      Context.current().log.info('reconcile completed', { ...summary });
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;

export const addCounts = (a: ReconcileCounts, b: ReconcileCounts): ReconcileCounts => ({
  orders_seen: a.orders_seen + b.orders_seen,
  lines_started: a.lines_started + b.lines_started,
  orders_cancelled: a.orders_cancelled + b.orders_cancelled,
});

const latest = (instants: readonly string[]): string | null =>
  instants.reduce<string | null>((max, at) => (max === null || Date.parse(at) > Date.parse(max) ? at : max), null);

/** Admin API failures as Temporal sees them: 5xx and network errors are retried, a refused token or query is not. */
async function adminFailures<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ShopifyAdminError)) throw error;
    throw ApplicationFailure.create({ type: `shopify_${error.kind}`, message: error.message, nonRetryable: !error.retryable });
  }
}

/** Sleeps `ms`, heartbeating at a third of the heartbeat timeout so a long wait is not taken for a dead worker. */
async function heartbeatingSleep(context: Context, ms: number, details: Record<string, unknown>): Promise<void> {
  const step = context.info.heartbeatTimeoutMs ? context.info.heartbeatTimeoutMs / 3 : ms;
  for (let left = ms; left > 0; left -= step) {
    context.heartbeat(details);
    await context.sleep(Math.min(step, left));
  }
}
