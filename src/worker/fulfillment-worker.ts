import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { FulfillmentActivities } from '../activities/index.js';

const here = fileURLToPath(import.meta.url);
/** A module of the workflows folder: `.ts` under tsx, `.js` once compiled. */
const workflowsModule = (name: string) => path.resolve(path.dirname(here), `../workflows/${name}${path.extname(here)}`);

/** How the workflow bundle is made, whether at build time or by a worker at start. */
export const workflowBundling = {
  workflowsPath: workflowsModule('index'),
  preloadModules: [workflowsModule('shared-modules')],
};

export interface FulfillmentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: FulfillmentActivities;
  /** A bundle made by `bundleWorkflowCode` at build time; without it the worker bundles at start. */
  workflowBundlePath?: string | undefined;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Workflows kept in memory between tasks; see `defaultMaxCachedWorkflows`. */
  maxCachedWorkflows?: number | undefined;
}

export function createFulfillmentWorker(options: FulfillmentWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: workflowBundling.workflowsPath, bundlerOptions: { preloadModules: workflowBundling.preloadModules } }),
    // Lets a copy in flight finish on SIGTERM; past it, heartbeats time out and another worker resumes.
    shutdownGraceTime: '30s',
    ...(options.maxConcurrentActivityTaskExecutions
      ? { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions }
      : {}),
    ...(options.maxCachedWorkflows ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    ...(options.maxConcurrentWorkflowTaskExecutions
      ? { maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions }
      : {}),
  });
}
