import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.js';
import { connectDatabase } from '../../src/db/connect.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { resolveTemporalCli } from '../../src/temporal/cli.js';
import { bundleWorkflows } from '../../src/worker/bundle-workflows.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { defaultMaxCachedWorkflows } from '../../src/worker/workflow-cache.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';
import { createTestDatabase } from '../../test/support/database.js';
import { startWaitingLines, untilInStatus, wakeAll } from '../../test/observability/waiting-lines.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS } from '../../src/domain/fulfillment-input.js';

/**
 * Lines waiting for their previews, then all woken at once: the worker's RSS while they wait
 * and while they drain, and the time from waking to the last line persisted. The worker runs in
 * a process of its own (its RSS is only its own), with the cache the product would give a
 * worker of `--memory` MiB, or `--cache`; `--cache=0` leaves the SDK's default, to compare.
 *
 *   tsx bench/scenarios/waiting-lines.ts [--lines=2000,10000] [--memory=512] [--cache=N]
 *
 * Needs DATABASE_URL (Postgres) and the temporal CLI (TEMPORAL_CLI_PATH or PATH).
 */
const MiB = 1024 * 1024;
const PREVIEWS = 'previews';
const PRINT = 'print-assets';
const here = fileURLToPath(import.meta.url);

interface WorkerOptions {
  address: string;
  taskQueue: string;
  bundle: string;
  databaseUrl: string;
  schema: string;
  storageRoot: string;
  maxCachedWorkflows: number | undefined;
}

if (process.argv.includes('--worker')) await runWorker(JSON.parse(process.env.WAITING_LINES_WORKER ?? '{}') as WorkerOptions);
else await main();

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { lines: { type: 'string', default: '2000,10000' }, memory: { type: 'string', default: '512' }, cache: { type: 'string' } },
  });
  const counts = values.lines.split(',').map(Number);
  const cache = values.cache === undefined ? defaultMaxCachedWorkflows(Number(values.memory) * MiB) : Number(values.cache) || undefined;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'printready-waiting-'));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: { executable: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH), searchAttributes: SEARCH_ATTRIBUTES },
    }),
    bundleWorkflows(path.join(workDir, 'workflow-bundle.js')),
  ]);
  const database = await createTestDatabase();
  const client = new Client({ connection: await Connection.connect({ address: env.address }) });
  const storageRoot = path.join(workDir, 'storage');
  const put = async (bucket: string, key: string, bytes: Uint8Array) => {
    const file = path.join(storageRoot, bucket, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  };
  console.log(`worker cache: ${cache ?? 'SDK default'} (${values.cache === undefined ? `default for ${values.memory} MiB` : '--cache'})`);
  try {
    for (const count of counts) {
      const taskQueue = `waiting-${count}-${Date.now()}`;
      const worker = startWorkerProcess({
        address: env.address,
        taskQueue,
        bundle,
        databaseUrl: database.url ?? '',
        schema: database.schema ?? '',
        storageRoot,
        maxCachedWorkflows: cache,
      });
      try {
        const target = { db: database.db, client, taskQueue, previewBucket: PREVIEWS, previewWaitSeconds: 3600, put };
        const began = performance.now();
        const lines = await startWaitingLines(target, count);
        console.log(
          `${count} lines started in ${((performance.now() - began) / 1000).toFixed(1)} s; peak RSS so far ${(worker.peak / MiB).toFixed(0)} MiB`,
        );
        await untilInStatus(database.db, lines, 'waiting_for_preview', 30 * 60_000);
        const settledAt = performance.now();
        worker.resetPeak();
        // Let timers, polls and garbage collection settle before reading what waiting costs.
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        const waitingRss = worker.peak;
        worker.resetPeak();
        const wokenAt = performance.now();
        await wakeAll(target, lines);
        await untilInStatus(database.db, lines, 'persisted', 60 * 60_000);
        const drainS = (performance.now() - wokenAt) / 1000;
        console.log(
          `${count} lines: started and waiting in ${((settledAt - began) / 1000).toFixed(1)} s; ` +
            `RSS waiting ${(waitingRss / MiB).toFixed(0)} MiB; woken all at once, drained in ${drainS.toFixed(1)} s ` +
            `(${(count / drainS).toFixed(0)} lines/s), peak RSS while draining ${(worker.peak / MiB).toFixed(0)} MiB`,
        );
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await client.connection.close();
    await database.close();
    await env.teardown();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The worker in a child process, reporting its RSS every 200 ms; the peak since the last reset. */
function startWorkerProcess(options: WorkerOptions) {
  const child: ChildProcess = fork(here, ['--worker'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, WAITING_LINES_WORKER: JSON.stringify(options) },
  });
  const state = { peak: 0 };
  child.on('message', (message: { rss?: number }) => {
    if (typeof message.rss === 'number') state.peak = Math.max(state.peak, message.rss);
  });
  return {
    get peak() {
      return state.peak;
    },
    resetPeak: () => {
      state.peak = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function runWorker(options: WorkerOptions): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const db = await connectDatabase({ databaseUrl: options.databaseUrl, dataDir: '', schema: options.schema });
  const storage = new LocalStorage({
    root: options.storageRoot,
    publicBaseUrl: 'http://127.0.0.1:9',
    signingSecret: 'waiting-lines-bench-secret-0123456789',
  });
  await storage.ensureBucket(PREVIEWS);
  await storage.ensureBucket(PRINT);
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await createFulfillmentWorker({
    connection,
    namespace: 'default',
    taskQueue: options.taskQueue,
    workflowBundlePath: options.bundle,
    maxCachedWorkflows: options.maxCachedWorkflows,
    activities: createActivities({
      db,
      storage,
      telemetry: createTelemetry({ host: 'http://127.0.0.1:9' }),
      temporal: { client: new Client({ connection: Connection.lazy({ address: options.address }) }), taskQueue: options.taskQueue },
      printBucket: PRINT,
      previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
    }),
  });
  setInterval(() => {
    if (process.connected) process.send?.({ rss: process.memoryUsage.rss() });
  }, 200).unref();
  await worker.run();
  await db.destroy();
  process.exit(0);
}
