import { loadConfig } from '../../src/config/config.js';

/** The knobs the end-to-end benchmark compares; the baseline's no-op worker gets the same ones. */
export interface WorkerSettings {
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  /** Unset: the SDK's default (from the heap size). */
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskPolls?: number;
  maxConcurrentActivityTaskPolls?: number;
  /** pg pool of the worker's database connection (FulfillOrderLine only). */
  poolSize?: number;
}

/** What `npm run start:worker` runs with when nothing is configured. */
export function productDefaults(): WorkerSettings {
  const config = loadConfig({});
  return {
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
  };
}

export const describeSettings = (settings: WorkerSettings): string =>
  Object.entries(settings)
    .map(([key, value]) => `${key.replace(/^maxConcurrent/, '').replace(/TaskExecutions$/, '')}=${String(value)}`)
    .join(' ');
