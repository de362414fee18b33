import { Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/config.js';
import { exitOnStartupFailure } from '../entry/fatal.js';
import { StartupError } from '../entry/startup-error.js';
import { createLogger } from '../logging/logger.js';
import { temporalLogger } from '../logging/temporal-logger.js';
import { createAdapters } from '../adapters.js';
import { runtimeTelemetry } from '../telemetry/metrics/runtime-metrics.js';
import { serveWorkerMetrics } from '../telemetry/metrics/worker-metrics.js';
import { startTracing } from '../telemetry/tracing/tracing.js';
import { startWorker } from './start-worker.js';

/** `npm run start:worker`: the production worker, against external Postgres and Temporal. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS || !config.DATABASE_URL) {
    throw new StartupError('start:worker needs TEMPORAL_ADDRESS and DATABASE_URL (npm run dev runs everything embedded).');
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'printready-worker' });
  // Shuts the worker down on SIGINT/SIGTERM; running activities get the worker's grace time.
  Runtime.install({ logger: temporalLogger(logger), telemetryOptions: runtimeTelemetry(config.WORKER_METRICS_ADDRESS) });
  // Its line and byte counts, for Prometheus and for the API's /metrics (WORKER_APP_METRICS_URLS).
  const metrics = config.WORKER_APP_METRICS_ADDRESS ? await serveWorkerMetrics(config.WORKER_APP_METRICS_ADDRESS) : undefined;
  const tracing = await startTracing();
  const adapters = await createAdapters(config, logger);
  const { failed } = await startWorker(config, adapters, config.TEMPORAL_ADDRESS, logger, tracing);
  const failure = await failed;
  await adapters.close();
  metrics?.close();
  await tracing?.shutdown();
  if (!failure) logger.info('worker stopped');
  // Exits instead of waiting for the event loop to drain, which a stalled log reader would hold
  // open (the logs' exit flush waits for it at most 2 s).
  process.exit(failure ? 1 : 0);
}

main().catch(exitOnStartupFailure('printready worker'));
