import { Client, Connection } from '@temporalio/client';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { briefly, StartupError } from '../entry/startup-error.js';
import { errorCode } from '../lib/error-code.js';
import type { Logger } from '../logging/logger.js';
import type { Adapters } from '../adapters.js';
import { tracingClientInterceptors } from '../telemetry/tracing/temporal-tracing.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { buildApp } from './app.js';
import { deadlineAwareRetryInterceptor } from '../intake/temporal-deadline.js';

/**
 * The API's Temporal client: fails fast when the cluster is away, never retries past a deadline;
 * `traced`, its starts and signals carry the request's trace into the workflow.
 */
export async function connectTemporalClient(config: Config, address: string, traced = false): Promise<Client> {
  try {
    const connection = await Connection.connect({
      ...(await temporalConnectionOptions(config, address)),
      connectTimeout: '5s',
      interceptors: [deadlineAwareRetryInterceptor()],
    });
    return new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      ...(traced ? { interceptors: tracingClientInterceptors() } : {}),
    });
  } catch (error) {
    throw new StartupError(
      `Temporal at ${address} is not reachable (${briefly(error)}). ` +
        'Check TEMPORAL_ADDRESS (and TEMPORAL_API_KEY / TLS settings) and that the server is running.',
    );
  }
}

export async function checkDatabase(adapters: Adapters): Promise<void> {
  try {
    await sql`select 1`.execute(adapters.db);
  } catch (error) {
    throw new StartupError(`Postgres is not reachable (${briefly(error)}). Check DATABASE_URL and that the server is running.`);
  }
}

/** Builds the app on the given adapters and listens, with start-up errors a person can act on. */
export async function serveApi(config: Config, adapters: Adapters, client: Client, logger: Logger): Promise<FastifyInstance> {
  if (config.PORT === 0 && !config.PUBLIC_URL && adapters.storage.kind === 'local') {
    throw new StartupError(
      'PORT is 0 and PUBLIC_URL is not set: local storage signs URLs with the port, which is not known before listening. Set PUBLIC_URL or PORT.',
    );
  }
  const app = await buildApp({
    config,
    db: adapters.db,
    storage: adapters.storage,
    telemetry: adapters.telemetry,
    temporal: { client, taskQueue: config.TEMPORAL_TASK_QUEUE },
    logger,
  });
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    await app.close();
    const code = errorCode(error);
    if (code === 'EADDRINUSE')
      throw new StartupError(`Port ${config.PORT} on ${config.HOST} is already in use. Stop the other process or set PORT.`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`HOST ${config.HOST} is not an address of this machine. Set HOST (e.g. 0.0.0.0).`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new StartupError(
        `HOST ${config.HOST} could not be resolved to an address (${code}). Set HOST (e.g. 0.0.0.0), or retry once DNS answers.`,
      );
    }
    throw error;
  }
  return app;
}
