import { continueAsNew, proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { ReconcileActivities } from '../activities/reconcile.js';
import type { ReconcileCounts, ReconcileRequest, ReconcileSummary, SweepProgress } from '../domain/reconcile.js';

/** Pages one run reads before it continues as new, so a sweep of any length keeps a short history. */
const PAGES_PER_RUN = 100;

/**
 * Admin API calls wait out throttling inside the activity (heartbeating); 5xx and network
 * failures are retried here with backoff; a refused token fails the sweep at once, and the next
 * scheduled one tries again.
 */
const adminCall: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20 },
};
const bookkeeping: ActivityOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

const step = <K extends keyof ReconcileActivities>(name: K, options: ActivityOptions, summary: string): ReconcileActivities[K] =>
  proxyActivities<ReconcileActivities>({ ...options, summary })[name];

const beginSweep = step('beginSweep', bookkeeping, 'Read where the sweep starts (the shop’s watermark less the overlap)');
const reconcilePage = step('reconcilePage', adminCall, 'Read a page of orders from the Admin API and admit each through the intake');
const reconcileOrder = step('reconcileOrder', adminCall, 'Read the order from the Admin API and admit it through the intake');
const completeReconcile = step('completeReconcile', bookkeeping, 'Record the watermark, report reconcile.completed');

const ZERO: ReconcileCounts = { orders_seen: 0, lines_started: 0, orders_cancelled: 0 };

/**
 * One reconciliation of a shop against Shopify's Admin API: the orders updated since its last
 * completed sweep (or since `since`), page by page, each fed through the same intake as its
 * webhook, so a line a webhook started is never started again; or, with `order_id`, that one
 * order. The shop's watermark moves only when the whole sweep completes.
 */
export async function ReconcileShop(request: ReconcileRequest, resumed?: SweepProgress): Promise<ReconcileSummary> {
  const { shop_id } = request;
  const reconcile_id = workflowInfo().workflowId;

  if (request.order_id) {
    const counts = await reconcileOrder({ shop_id, reconcile_id, order_id: request.order_id });
    return complete({ reconcile_id, shop_id, kind: 'order', ...counts, updated_through: null });
  }

  let sweep: SweepProgress = resumed ?? { ...(await beginSweep(request)), after: null, pages: 0, updated_through: null, ...ZERO };
  for (let pagesThisRun = 1; ; pagesThisRun++) {
    const page = await reconcilePage({ shop_id, reconcile_id, from: sweep.from, after: sweep.after });
    sweep = {
      from: sweep.from,
      after: page.end_cursor,
      pages: sweep.pages + 1,
      orders_seen: sweep.orders_seen + page.orders_seen,
      lines_started: sweep.lines_started + page.lines_started,
      orders_cancelled: sweep.orders_cancelled + page.orders_cancelled,
      updated_through: later(sweep.updated_through, page.updated_through),
    };
    setCurrentDetails(
      `Orders updated since ${sweep.from}: ${sweep.pages} pages read, ${sweep.orders_seen} orders seen, ` +
        `${sweep.lines_started} lines started, ${sweep.orders_cancelled} cancelled orders closed.`,
    );
    if (!page.has_next_page) break;
    if (pagesThisRun >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof ReconcileShop>(request, sweep);
    }
  }
  const { orders_seen, lines_started, orders_cancelled, updated_through } = sweep;
  return complete({ reconcile_id, shop_id, kind: 'sweep', orders_seen, lines_started, orders_cancelled, updated_through });
}

async function complete(summary: ReconcileSummary): Promise<ReconcileSummary> {
  await completeReconcile(summary);
  return summary;
}

const later = (a: string | null, b: string | null): string | null => {
  if (a === null || b === null) return a ?? b;
  return Date.parse(b) > Date.parse(a) ? b : a;
};
