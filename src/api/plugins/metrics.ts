import { trace } from '@opentelemetry/api';
import type { FastifyPluginCallback } from 'fastify';
import { sql } from 'kysely';
import type { Db } from '../../db/connect.js';
import {
  countWaitingLinesWith,
  httpRequestDurationSeconds,
  registry,
  signedUrlsTotal,
  webhookDeliveriesTotal,
} from '../../telemetry/metrics/metrics.js';
import { collectMetrics } from '../../telemetry/metrics/worker-metrics.js';

/** Topics a label may name; anything else a sender writes in the header counts as `other`. */
const WEBHOOK_TOPICS = new Set([
  'orders/create',
  'orders/paid',
  'orders/cancelled',
  'refunds/create',
  'customers/data_request',
  'customers/redact',
  'shop/redact',
]);

/** A webhook answer's outcome, from its status: each failure status has one meaning on that route. */
const WEBHOOK_OUTCOMES: Record<number, string> = {
  200: 'accepted',
  400: 'invalid_payload',
  401: 'invalid_hmac',
  413: 'payload_too_large',
  503: 'unavailable',
};

/** Requests no route matched share one label, so a scanner cannot grow the series. */
const UNMATCHED_ROUTE = 'unmatched';

export interface MetricsOptions {
  db: Db;
  /** Workers' `WORKER_APP_METRICS_ADDRESS` endpoints whose line and byte counts `/metrics` adds up. */
  workerMetricsUrls: readonly string[];
}

/**
 * `GET /metrics` (Prometheus text, no auth: bind the API privately) and the hooks that count
 * every request by its route pattern, webhook deliveries by topic and outcome, and signed URLs.
 */
export const metricsPlugin: FastifyPluginCallback<MetricsOptions> = (app, { db, workerMetricsUrls }, done) => {
  countWaitingLinesWith(async () => {
    const { rows } = await sql<{ count: string }>`select count(*) as count from order_lines where status = 'waiting_for_preview'`.execute(
      db,
    );
    return Number(rows[0]?.count ?? 0);
  });

  // With tracing on, the HTTP server span is named by its route, as instrumentation-fastify would.
  app.addHook('onRequest', (request, _reply, next) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    trace.getActiveSpan()?.setAttribute('http.route', route).updateName(`${request.method} ${route}`);
    next();
  });

  app.addHook('onResponse', (request, reply, next) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const status = reply.statusCode;
    httpRequestDurationSeconds.observe({ method: request.method, route, status_code: String(status) }, reply.elapsedTime / 1000);
    if (route === '/webhooks/shopify' && request.method === 'POST') {
      const topic = request.headers['x-shopify-topic'];
      webhookDeliveriesTotal.inc({
        topic: typeof topic === 'string' && WEBHOOK_TOPICS.has(topic) ? topic : 'other',
        outcome: WEBHOOK_OUTCOMES[status] ?? 'error',
      });
    } else if (route.endsWith('/final-asset/signed-url') && status === 200) {
      signedUrlsTotal.inc();
    }
    next();
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await collectMetrics(workerMetricsUrls)),
  );
  done();
};
// Its hooks count every route of the app, not only those registered inside it (what fastify-plugin does).
Object.assign(metricsPlugin, { [Symbol.for('skip-override')]: true });
