import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { oneLineBundlerLogger } from '../logging/bundler-logger.js';
import { DATABASE_POOL_SIZE } from '../db/connect.js';
import type { FulfillmentActivities } from '../activities/index.js';
import { tracingWorkerOptions, WORKFLOW_TRACING_INTERCEPTORS } from '../telemetry/tracing/temporal-tracing.js';
import type { Tracing } from '../telemetry/tracing/tracing.js';

const here = fileURLToPath(import.meta.url);
/** A module of the workflows folder: `.ts` under tsx, `.js` once compiled. */
const workflowsModule = (name: string) => path.resolve(path.dirname(here), `../workflows/${name}${path.extname(here)}`);

/**
 * How the workflow bundle is made, whether at build time or by a worker at start; a traced
 * bundle adds the OpenTelemetry workflow interceptors.
 */
export const workflowBundling = (traced = false) => ({
  workflowsPath: workflowsModule('index'),
  preloadModules: [workflowsModule('shared-modules')],
  ...(traced ? { workflowInterceptorModules: [WORKFLOW_TRACING_INTERCEPTORS] } : {}),
});

export interface FulfillmentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: FulfillmentActivities;
  /** A bundle made by `bundleWorkflowCode` at build time; without it the worker bundles at start. */
  workflowBundlePath?: string | undefined;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** OpenTelemetry, when configured: the bundle must then be a traced one. */
  tracing?: Tracing | undefined;
  /** Workflows kept in memory between tasks; see `defaultMaxCachedWorkflows`. */
  maxCachedWorkflows?: number | undefined;
}

export async function createFulfillmentWorker(options: FulfillmentWorkerOptions): Promise<Worker> {
  const bundle = options.workflowBundlePath
    ? { codePath: options.workflowBundlePath }
    : await bundleWorkflowCode({ ...workflowBundling(Boolean(options.tracing)), logger: oneLineBundlerLogger(Runtime.instance().logger) });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    workflowBundle: bundle,
    ...(options.tracing ? tracingWorkerOptions(options.tracing) : {}),
    // Lets a copy in flight finish on SIGTERM; past it, heartbeats time out and another worker resumes.
    shutdownGraceTime: '30s',
    // Each local activity is one short transaction: more at once than the pool has connections
    // only wait for one, and past its 5 s connection timeout fail and retry (a backlog drain).
    maxConcurrentLocalActivityExecutions: DATABASE_POOL_SIZE,
    ...(options.maxConcurrentActivityTaskExecutions
      ? { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions }
      : {}),
    ...(options.maxCachedWorkflows ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    ...(options.maxConcurrentWorkflowTaskExecutions
      ? { maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions }
      : {}),
  });
}
