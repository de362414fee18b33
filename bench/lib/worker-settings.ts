import { loadConfig } from '../../src/config/config.js';

/** The worker's knobs; the baseline's no-op worker gets the same ones. */
export interface WorkerSettings {
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
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
