import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { isGuessable, MIN_SECRET_LENGTH, type Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import type { Adapters } from '../adapters.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { syncReconcileSchedules } from '../temporal/schedules.js';
import { tracingClientInterceptors } from '../telemetry/tracing/temporal-tracing.js';
import { tracedStorage } from '../telemetry/tracing/traced-storage.js';
import type { Tracing } from '../telemetry/tracing/tracing.js';
import { createFulfillmentWorker } from './fulfillment-worker.js';
import { defaultMaxCachedWorkflows } from './workflow-cache.js';

/** Written by `npm run build`; a worker started from source bundles at start instead. */
export const PREBUILT_BUNDLE = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
/** The same with the OpenTelemetry workflow interceptors, for a worker with tracing configured. */
export const PREBUILT_TRACED_BUNDLE = fileURLToPath(new URL('../workflow-bundle-traced.js', import.meta.url));

export interface RunningWorker {
  worker: Worker;
  /** Settles once the worker has shut down (on `worker.shutdown()` or SIGINT/SIGTERM). */
  done: Promise<void>;
  /**
   * Heard at once, never rejecting: true (logged) when the worker failed on its own, false when
   * it shut down as asked.
   */
  failed: Promise<boolean>;
}

/**
 * Connects to Temporal, makes sure the search attributes exist, and runs the fulfillment worker.
 * The same connection stays open as the client of activities that start, signal or delete workflows.
 */
export async function startWorker(
  config: Config,
  adapters: Adapters,
  address: string,
  logger: Logger,
  tracing?: Tracing,
): Promise<RunningWorker> {
  const options = await temporalConnectionOptions(config, address);
  const admin = await Connection.connect(options);
  try {
    await ensureSearchAttributes(admin, config.TEMPORAL_NAMESPACE, logger);
  } catch (error) {
    await admin.close();
    throw error;
  }
  if (config.ORDER_EVENTS_SECRET && isGuessable(config.ORDER_EVENTS_SECRET)) {
    logger.warn(
      `ORDER_EVENTS_SECRET is shorter than ${MIN_SECRET_LENGTH} characters: whoever guesses it can sign events the print side trusts`,
    );
  }
  const client = new Client({
    connection: admin,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(tracing ? { interceptors: tracingClientInterceptors() } : {}),
  });
  const connection = await NativeConnection.connect(options);
  const prebuilt = tracing ? PREBUILT_TRACED_BUNDLE : PREBUILT_BUNDLE;
  const worker = await createFulfillmentWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundlePath: existsSync(prebuilt) ? prebuilt : undefined,
    tracing,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS ?? defaultMaxCachedWorkflows(),
    activities: createActivities({
      db: adapters.db,
      storage: tracing ? tracedStorage(adapters.storage) : adapters.storage,
      telemetry: adapters.telemetry,
      temporal: { client, taskQueue: config.TEMPORAL_TASK_QUEUE },
      printBucket: config.PRINT_BUCKET,
      previewWaitSeconds: config.PREVIEW_WAIT_SECONDS,
      orderEvents:
        config.ORDER_EVENTS_URL && config.ORDER_EVENTS_SECRET
          ? { url: config.ORDER_EVENTS_URL, secret: config.ORDER_EVENTS_SECRET, urlTtlSeconds: config.ORDER_EVENTS_URL_TTL_SECONDS }
          : undefined,
      reconcile: {
        tokens: config.SHOPIFY_ADMIN_TOKENS,
        admin: { origin: config.SHOPIFY_ADMIN_ORIGIN, apiVersion: config.SHOPIFY_API_VERSION },
      },
    }),
  });
  await syncSchedules(client, config, logger);
  logger.info(
    { task_queue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, bundle: path.basename(prebuilt) },
    'worker polling',
  );
  const done = worker.run().finally(async () => {
    await connection.close();
    await admin.close();
  });
  const failed = done.then(
    () => false,
    (error: unknown) => {
      logger.fatal({ err: error }, 'worker failed');
      return true;
    },
  );
  return { worker, done, failed };
}

/**
 * The reconciliation schedules, made to match the configuration. A namespace that refuses them
 * is said loudly but does not stop fulfillment: webhooks still work, and the route still reconciles.
 */
async function syncSchedules(client: Client, config: Config, logger: Logger): Promise<void> {
  const shops = config.SHOPIFY_ADMIN_TOKENS.map(({ shop_id }) => shop_id);
  try {
    const synced = await syncReconcileSchedules(client, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      shops,
      intervalMinutes: config.RECONCILE_INTERVAL_MINUTES,
    });
    logger.info({ ...synced, interval_minutes: config.RECONCILE_INTERVAL_MINUTES }, 'reconciliation schedules synced');
  } catch (error) {
    logger.error({ err: error, shops: shops.length }, 'reconciliation schedules not synced; sweeps run only when asked through the route');
  }
}
