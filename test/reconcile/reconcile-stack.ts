import { randomBytes } from 'node:crypto';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { ReconcileRequest, ReconcileSummary } from '../../src/domain/reconcile.js';
import { createLogger } from '../../src/logging/logger.js';
import { temporalLogger } from '../../src/logging/temporal-logger.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import type { Telemetry } from '../../src/telemetry/telemetry.js';
import type { ReconcileShop } from '../../src/workflows/reconcile-shop.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { LogCapture } from '../support/api.js';
import { useApiApp } from '../support/api-app.js';
import { buildTestApp } from '../support/capture-app.js';
import { appendCapture, captureFile, registerSecrets } from '../support/capture.js';
import { bigId, PRINT_BUCKET } from '../support/fixtures.js';
import { PostHogStandIn } from '../support/posthog-stand-in.js';
import { ShopifyAdminStandIn, type StandInOrder } from '../support/shopify-admin-stand-in.js';
import { Teardown } from '../support/teardown.js';

/** An offline Admin API token as Shopify issues them (`shpat_` and 32 hex digits), fresh per file. */
const adminToken = () => `shpat_${randomBytes(16).toString('hex')}`;

/**
 * A test file's reconciliation: the API (its config holds the shop's Admin token), the Admin API
 * stand-in, PostHog's stand-in, and a worker polling a queue of its own for `ReconcileShop`.
 * The lines a sweep starts go to the API's queue, which no worker polls: they stay pending, so
 * a thousand of them cost the shared dev server little. The worker's log lines are captured.
 */
export function useReconcileStack(standInOptions: Parameters<typeof ShopifyAdminStandIn.start>[1] = {}) {
  const token = adminToken();
  const api = useApiApp((creds) => ({ SHOPIFY_ADMIN_TOKENS: `${creds.shop}=${token}` }));
  const stack = {
    api,
    token,
    /** A shop the worker has a token for that Shopify refuses (401). */
    revokedShop: `revoked-${randomBytes(4).toString('hex')}.myshopify.com`,
    workerLogs: new LogCapture(),
    standIn: undefined as unknown as ShopifyAdminStandIn,
    posthog: undefined as unknown as PostHogStandIn,
    telemetry: undefined as unknown as Telemetry,
    reconcileQueue: `reconcile-${randomBytes(6).toString('hex')}`,
    /** The API with `ReconcileShop` routed to the worker's queue. */
    app: undefined as unknown as FastifyInstance,

    sweep: (request: Omit<ReconcileRequest, 'shop_id'> & { shop_id?: string } = {}): Promise<ReconcileSummary> =>
      api.client.workflow.execute<typeof ReconcileShop>('ReconcileShop', {
        workflowId: `reconcile:test:${randomBytes(6).toString('hex')}`,
        taskQueue: stack.reconcileQueue,
        args: [{ shop_id: api.creds.shop, ...request }],
      }),
  };

  const teardown = new Teardown();
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    const revokedToken = adminToken();
    registerSecrets(token, revokedToken);
    const logFile = captureFile('worker.log');
    const logger = createLogger(
      { level: 'info', name: 'reconcile-worker' },
      {
        write: (line: string) => {
          appendCapture(logFile, line);
          stack.workerLogs.write(line);
        },
      },
    );
    Runtime.install({ logger: temporalLogger(logger) });

    stack.standIn = await ShopifyAdminStandIn.start({ [api.creds.shop]: token }, standInOptions);
    teardown.defer(() => stack.standIn.close());
    stack.posthog = await PostHogStandIn.start();
    teardown.defer(() => stack.posthog.close());
    stack.telemetry = createTelemetry({ apiKey: 'phc_test_key', host: stack.posthog.host });
    teardown.defer(() => stack.telemetry.shutdown());

    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    teardown.defer(() => connection.close());
    worker = await createFulfillmentWorker({
      connection,
      namespace: 'default',
      taskQueue: stack.reconcileQueue,
      workflowBundlePath: inject('workflowBundlePath'),
      activities: createActivities({
        db: api.database.db,
        storage: api.storage,
        telemetry: stack.telemetry,
        temporal: { client: api.client, taskQueue: api.taskQueue },
        printBucket: PRINT_BUCKET,
        previewWaitSeconds: 30,
        reconcile: {
          tokens: [...api.config.SHOPIFY_ADMIN_TOKENS, { shop_id: stack.revokedShop, token: revokedToken }],
          admin: { origin: stack.standIn.origin, apiVersion: api.config.SHOPIFY_API_VERSION },
        },
      }),
    });
    running = worker.run();
    teardown.defer(async () => {
      worker?.shutdown();
      await running;
    });
    stack.app = await buildTestApp({ ...api.base, temporal: { client: api.client, taskQueue: stack.reconcileQueue } });
    teardown.defer(() => stack.app.close());
  });
  afterAll(() => teardown.run());
  return stack;
}

export interface OrderSpec {
  /** Personalization ids of its personalized line items (each its own line). */
  personalized?: string[];
  /** Line items without personalization. */
  plain?: number;
  updatedAt?: string;
  cancelledAt?: string | null;
}

/** An Admin API order with fresh 18-digit ids, and the personalized lines it holds. */
export function adminOrder(spec: OrderSpec = {}): { order: StandInOrder; lines: { order_line_id: string; personalization_id: string }[] } {
  const lines = (spec.personalized ?? []).map((personalization_id) => ({ order_line_id: bigId(), personalization_id }));
  const order: StandInOrder = {
    id: bigId(),
    updatedAt: spec.updatedAt ?? new Date().toISOString(),
    cancelledAt: spec.cancelledAt ?? null,
    lineItems: [
      ...lines.map((line) => ({
        id: line.order_line_id,
        quantity: 1,
        customAttributes: [
          { key: 'Engraving', value: 'For Ada' },
          { key: '_personalization_id', value: line.personalization_id },
        ],
      })),
      ...Array.from({ length: spec.plain ?? 0 }, () => ({ id: bigId(), quantity: 2, customAttributes: [] })),
    ],
  };
  return { order, lines };
}
