import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LINE_STATUSES } from '../../domain/line-status.js';
import { REASON_CODES } from '../../domain/reasons.js';

/**
 * Every Prometheus metric printready exports (CONTRACT.md, Observability), in one registry per
 * process. Labels are bounded sets: a status, a reason code, a step, a route pattern; never a
 * shop, an order, a line or a token.
 */
export const registry = new Registry();
// The process's CPU, memory and event-loop lag, for the memory and saturation alerts.
collectDefaultMetrics({ register: registry });

// --- recorded by the worker's activities (when a line's row changes, when bytes went through)

export const linesTotal = new Counter({
  name: 'printready_lines_total',
  help: 'Lines moved into each status (processing, waiting_for_preview, persisted, failed, cancelled, withheld)',
  labelNames: ['status'] as const,
  registers: [registry],
});
for (const status of LINE_STATUSES) linesTotal.inc({ status }, 0);

/** The contract's line counter has no reason; failures by reason code are counted here. */
export const lineFailuresTotal = new Counter({
  name: 'printready_line_failures_total',
  help: 'Line failures recorded, by reason code',
  labelNames: ['reason_code'] as const,
  registers: [registry],
});
for (const reason of REASON_CODES) lineFailuresTotal.inc({ reason_code: reason }, 0);

export const lineDurationSeconds = new Histogram({
  name: 'printready_line_duration_seconds',
  help: 'From the webhook receiving a line to its asset persisted',
  // From a ready preview (about a second) to a wait for rendering, to a retry days later.
  buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600],
  registers: [registry],
});

export const assetBytesTotal = new Counter({
  name: 'printready_asset_bytes_total',
  help: 'Preview bytes verified and copied into the print bucket',
  labelNames: ['step'] as const,
  registers: [registry],
});
for (const step of ['verified', 'copied']) assetBytesTotal.inc({ step }, 0);

/** What the worker records; the API adds these up from its workers (see `worker-metrics.ts`). */
export const WORKER_METRICS: readonly string[] = [
  'printready_lines_total',
  'printready_line_failures_total',
  'printready_line_duration_seconds',
  'printready_asset_bytes_total',
  'printready_order_events_total',
];

// --- recorded by the API

export const httpRequestDurationSeconds = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests by method, route pattern and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const webhookDeliveriesTotal = new Counter({
  name: 'printready_webhook_deliveries_total',
  help: 'Shopify webhook deliveries by topic and outcome',
  labelNames: ['topic', 'outcome'] as const,
  registers: [registry],
});

export const signedUrlsTotal = new Counter({
  name: 'printready_signed_urls_total',
  help: 'Signed URLs issued',
  registers: [registry],
});

let countWaitingLines: (() => Promise<number>) | undefined;

/** Where the API counts the lines waiting now: a gauge read from the database at each scrape. */
export function countWaitingLinesWith(count: () => Promise<number>): void {
  countWaitingLines = count;
}

export const linesWaitingForPreview = new Gauge({
  name: 'printready_lines_waiting_for_preview',
  help: 'Lines waiting for their preview to finish rendering (database count at scrape time)',
  registers: [registry],
  async collect() {
    // A database that does not answer leaves the last count, rather than failing the scrape.
    const count = await countWaitingLines?.().catch(() => undefined);
    if (count !== undefined) this.set(count);
  },
});

/** Order events to the print side (`ORDER_EVENTS_URL`), by event type and delivery outcome. */
export const orderEventsTotal = new Counter({
  name: 'printready_order_events_total',
  help: 'Order events to ORDER_EVENTS_URL by type and outcome: delivered, refused (an attempt), stopped (order cancelled or redacted), undelivered (given up)',
  labelNames: ['type', 'outcome'] as const,
  registers: [registry],
});
