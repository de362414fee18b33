import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { connectTemporalClient, serveApi } from '../api/serve.js';
import { loadConfig } from '../config/config.js';
import { migrateToLatest } from '../db/migrate.js';
import { exitOnStartupFailure } from '../entry/fatal.js';
import { exitOnSignal } from '../entry/shutdown.js';
import { createLogger } from '../logging/logger.js';
import { temporalLogger } from '../logging/temporal-logger.js';
import { createAdapters } from '../adapters.js';
import { runtimeTelemetry } from '../telemetry/metrics/runtime-metrics.js';
import { startTracing } from '../telemetry/tracing/tracing.js';
import { startWorker } from '../worker/start-worker.js';
import { printBanner } from './banner.js';
import { devCredentials } from './dev-credentials.js';
import { startEmbeddedTemporal } from './embedded-temporal.js';

/**
 * On a terminal, lines a person reads (pino-pretty, a dev dependency: `npm run dev` runs from a
 * checkout); piped or redirected, the JSON lines production writes.
 */
async function terminalDestination() {
  if (!process.stdout.isTTY) return undefined;
  const { default: pretty } = await import('pino-pretty');
  return pretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', singleLine: true });
}

/** Child processes and connections come down within this, even if something hangs. */
const SHUTDOWN_GRACE_MS = 15_000;

/**
 * `npm run dev`: everything in one process on embedded defaults — a Temporal dev server with
 * its UI, PGlite and local storage in DATA_DIR, the worker and the API. Any external service
 * given by environment replaces its embedded default.
 */
async function main(): Promise<void> {
  const configured = loadConfig();
  // Made first: the embedded Temporal, PGlite, local storage and the dev credentials keep their state in it.
  await mkdir(configured.DATA_DIR, { recursive: true });
  const { config, generated } = await devCredentials(configured);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'printready' }, await terminalDestination());
  // Signals are handled below, so the worker stops in order with everything else.
  // The API's /metrics carries the worker's line counts too: one process, one registry.
  Runtime.install({
    logger: temporalLogger(logger),
    shutdownSignals: [],
    telemetryOptions: runtimeTelemetry(config.WORKER_METRICS_ADDRESS),
  });

  // Whatever has started is stopped again, last first, on a signal or a failed start.
  const stack: (() => Promise<unknown>)[] = [];
  const unwind = () => stack.reverse().reduce<Promise<unknown>>((done, stop) => done.then(stop, stop), Promise.resolve());
  try {
    const temporal = config.TEMPORAL_ADDRESS
      ? { address: config.TEMPORAL_ADDRESS, uiUrl: null }
      : await startEmbeddedTemporal(config, { port: config.TEMPORAL_DEV_PORT, uiPort: config.TEMPORAL_UI_PORT });
    if ('stop' in temporal) stack.push(() => temporal.stop());

    const tracing = await startTracing();
    if (tracing) stack.push(() => tracing.shutdown());
    const adapters = await createAdapters(config, logger);
    stack.push(() => adapters.close());
    await migrateToLatest(adapters.db);

    const { worker, done, failed } = await startWorker(config, adapters, temporal.address, logger, tracing);
    stack.push(async () => {
      worker.shutdown();
      await done;
    });
    const client = await connectTemporalClient(config, temporal.address, Boolean(tracing));
    stack.push(() => client.connection.close());
    const app = await serveApi(config, adapters, client, logger);
    stack.push(() => app.close());

    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    printBanner({
      apiUrl: `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`,
      temporalUiUrl: temporal.uiUrl,
      dataDir: path.resolve(config.DATA_DIR),
      config,
      generated,
    });
    const shutdown = exitOnSignal(logger, SHUTDOWN_GRACE_MS, [unwind]);
    // A worker that fails on its own stops everything, as a production worker would exit.
    void failed.then((failure) => {
      if (failure) shutdown('worker failed', true);
    });
  } catch (error) {
    await unwind().catch(() => undefined);
    throw error;
  }
}

main().catch(exitOnStartupFailure('printready dev'));
