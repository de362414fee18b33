import { Client, Connection } from '@temporalio/client';
import { sql } from 'kysely';
import { loadConfig } from '../config/config.js';
import { exitOnStartupFailure } from '../entry/fatal.js';
import { createLogger } from '../logging/logger.js';
import { createServices } from '../services.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { buildApp } from './app.js';
import { deadlineAwareRetryInterceptor } from './temporal.js';

/** A start-up failure worded for the person starting the process (printed without a stack). */
class StartupError extends Error {}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);

/** How long in-flight requests get to finish after SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 25_000;

/** `npm run start:api`: the production API, against external Postgres and Temporal. */
async function main(): Promise<void> {
  const config = loadConfig();
  const missing = [!config.DATABASE_URL && 'DATABASE_URL', !config.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS'].filter(Boolean);
  if (missing.length > 0 || !config.TEMPORAL_ADDRESS) {
    throw new StartupError(`start:api needs ${missing.join(' and ')}. Set them (npm run dev runs everything embedded instead).`);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'printready-api' });
  const services = await createServices(config, logger);
  try {
    await sql`select 1`.execute(services.db);
  } catch (error) {
    await services.close().catch(() => undefined);
    throw new StartupError(`Postgres is not reachable (${reason(error)}). Check DATABASE_URL and that the server is running.`);
  }

  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...(await temporalConnectionOptions(config, config.TEMPORAL_ADDRESS)),
      connectTimeout: '5s',
      interceptors: [deadlineAwareRetryInterceptor()],
    });
  } catch (error) {
    await services.close().catch(() => undefined);
    throw new StartupError(
      `Temporal at ${config.TEMPORAL_ADDRESS} is not reachable (${reason(error)}). ` +
        'Check TEMPORAL_ADDRESS (and TEMPORAL_API_KEY / TLS settings) and that the server is running.',
    );
  }
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

  const app = await buildApp({
    config,
    db: services.db,
    storage: services.storage,
    telemetry: services.telemetry,
    temporal: { client, taskQueue: config.TEMPORAL_TASK_QUEUE },
    logger,
  });

  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    await Promise.allSettled([app.close(), connection.close(), services.close()]);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`Port ${config.PORT} on ${config.HOST} is already in use. Stop the other process or set PORT.`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`HOST ${config.HOST} is not an address of this machine. Set HOST (e.g. 0.0.0.0).`);
    throw error;
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing those in flight');
    const force = setTimeout(() => {
      logger.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    // app.close() stops accepting, answers 503 to late requests and waits for those in flight.
    void app
      .close()
      .then(() => connection.close())
      // Flushes pending telemetry, then closes the database pool.
      .then(() => services.close())
      .then(
        () => {
          logger.info('api stopped');
          process.exitCode = 0;
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while shutting down');
          process.exitCode = 1;
        },
      )
      .finally(() => {
        clearTimeout(force);
        process.exit();
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    process.stderr.write(`printready api: ${error.message}\n`);
    process.exit(1);
  }
  exitOnStartupFailure('printready api')(error);
});
