import { Spawned } from './child-processes.js';
import { registerSecrets } from './capture.js';

/** What `npm run start:worker` reads, for a worker of a test's own. */
export interface WorkerProcessEnv {
  DATABASE_URL: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_TASK_QUEUE: string;
  DATA_DIR: string;
  LOCAL_SIGNING_SECRET: string;
  POSTHOG_API_KEY: string;
  POSTHOG_HOST: string;
  [name: string]: string;
}

/**
 * The production worker entry point (`src/worker/main.ts`, what `npm run start:worker` runs once
 * built) as a process of its own, from source: `node --import tsx src/worker/main.ts`. Nothing
 * of the test process's environment leaks in but PATH and HOME. Resolves once it polls.
 */
export async function startWorkerProcess(name: string, env: WorkerProcessEnv, timeoutMs = 60_000): Promise<Spawned> {
  registerSecrets(env.LOCAL_SIGNING_SECRET, env.POSTHOG_API_KEY, env.SUPABASE_SERVICE_ROLE_KEY);
  const worker = new Spawned({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', 'src/worker/main.ts'],
    // No metrics endpoints unless a test asks: two workers at once would contend for the default ports.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      WORKER_METRICS_ADDRESS: '',
      WORKER_APP_METRICS_ADDRESS: '',
      ...env,
    },
  });
  try {
    await worker.waitForOutput(/"msg":"worker polling"/, timeoutMs);
  } catch (error) {
    await worker.kill();
    throw error;
  }
  return worker;
}
