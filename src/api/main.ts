import { loadConfig } from '../config/config.js';
import { exitOnStartupFailure } from '../entry/fatal.js';
import { exitOnSignal } from '../entry/shutdown.js';
import { StartupError } from '../entry/startup-error.js';
import { createLogger } from '../logging/logger.js';
import { createAdapters } from '../adapters.js';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { startTracing } from '../telemetry/tracing/tracing.js';
import { checkDatabase, connectTemporalClient, serveApi } from './serve.js';

/** How long in-flight requests get to finish after SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 25_000;

/** `npm run start:api`: the production API, against external Postgres and Temporal. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    const missing = [!config.DATABASE_URL && 'DATABASE_URL', !config.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS'].filter(Boolean);
    throw new StartupError(`start:api needs ${missing.join(' and ')}. Set them (npm run dev runs everything embedded instead).`);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'printready-api' });
  // OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT says where to; nothing is loaded otherwise.
  const tracing = await startTracing();
  const adapters = await createAdapters(config, logger);
  try {
    await checkDatabase(adapters);
    const client = await connectTemporalClient(config, config.TEMPORAL_ADDRESS, Boolean(tracing));
    await ensureSearchAttributes(client.connection, config.TEMPORAL_NAMESPACE, logger);
    const app = await serveApi(config, adapters, client, logger);
    // app.close() stops accepting and waits for requests in flight; then telemetry is flushed.
    exitOnSignal(logger, SHUTDOWN_GRACE_MS, [
      () => app.close(),
      () => client.connection.close(),
      () => adapters.close(),
      async () => tracing?.shutdown(),
    ]);
  } catch (error) {
    await adapters.close().catch(() => undefined);
    throw error;
  }
}

main().catch(exitOnStartupFailure('printready api'));
