import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { createActivities } from '../../src/activities/index.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import { bundleWorkflows } from '../../src/worker/bundle-workflows.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { PREVIEW_BUCKET, PRINT_BUCKET } from '../../test/support/fixtures.js';
import { startTemporal } from './environment.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS } from '../../src/domain/fulfillment-input.js';

/** What a scenario run alone (`tsx bench/scenarios/<name>.ts`) stands on, in this one process. */
export interface StandaloneWorker {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  /** Local storage, both buckets made; its root is `storageRoot`. */
  storage: LocalStorage;
  storageRoot: string;
  taskQueue: string;
  /** A FulfillOrderLine worker on `taskQueue`, not yet running. */
  worker: Worker;
  /** Stops what was started (the worker must have stopped) and removes the scratch folder. */
  close: () => Promise<void>;
}

/**
 * A dev server, the workflow bundle as `npm run build` makes it, a test database, local storage
 * and a worker of the product's activities (telemetry to nowhere; `orderEvents` when given).
 */
export async function startStandaloneWorker(name: string, orderEvents?: ActivityDeps['orderEvents']): Promise<StandaloneWorker> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const workDir = await mkdtemp(path.join(os.tmpdir(), `printready-${name}-bench-`));
  const [env, bundle, database] = await Promise.all([
    startTemporal(),
    bundleWorkflows(path.join(workDir, 'workflow-bundle.js')),
    createTestDatabase(),
  ]);
  const storageRoot = path.join(workDir, 'storage');
  const storage = new LocalStorage({
    root: storageRoot,
    publicBaseUrl: 'http://127.0.0.1:9',
    signingSecret: `${name}-bench-0123456789abcdef`,
  });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  const taskQueue = `${name}-bench-${randomBytes(4).toString('hex')}`;
  const connection = await NativeConnection.connect({ address: env.address });
  const worker = await createFulfillmentWorker({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundlePath: bundle,
    activities: createActivities({
      db: database.db,
      storage,
      telemetry: createTelemetry({ host: 'http://127.0.0.1:9' }),
      temporal: { client: env.client, taskQueue },
      printBucket: PRINT_BUCKET,
      previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
      orderEvents,
    }),
  });
  return {
    env,
    database,
    storage,
    storageRoot,
    taskQueue,
    worker,
    close: async () => {
      await connection.close();
      await database.close();
      await env.teardown();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
