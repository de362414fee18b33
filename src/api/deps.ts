import type { Config } from '../config/config.js';
import type { Db } from '../db/connect.js';
import type { Logger } from '../logging/logger.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { TemporalAccess } from '../temporal/temporal-access.js';
import type { Intake } from '../intake/intake.js';
import type { ServiceDeps } from '../services/deps.js';
import type { FailedAuthLimit } from './plugins/auth.js';

/** What `buildApp` is given: the outside world, built by `main.ts`, the dev runner or a test. */
export interface ApiDeps {
  config: Config;
  db: Db;
  storage: ObjectStorage;
  temporal: TemporalAccess;
  telemetry: Telemetry;
  /** Defaults to a new pino logger at `LOG_LEVEL`; the API adds its serializers. */
  logger?: Logger;
  /**
   * The key the local backend signs URLs with; the files route verifies with it. Defaults to
   * `localSigningSecret(DATA_DIR, LOCAL_SIGNING_SECRET)`, the one `createStorage` uses.
   */
  localSigningSecret?: string;
  /** The clock signed file URLs are checked against (milliseconds); tests move it. */
  now?: () => number;
  /** Budget of the Temporal calls one request makes (default 3000 ms: Shopify waits 5 s). */
  temporalTimeoutMs?: number;
  /** Budget of each readiness check (default 2000 ms). */
  readinessTimeoutMs?: number;
  /** Workflow starts in flight at once before deliveries wait for room (default 256; see `StartAdmission`). */
  startCapacity?: number;
  /** How long a request may take to arrive, headers and body (default 30000 ms), before 408. */
  requestTimeoutMs?: number;
  /** Failed bearer attempts per address and window before 429 (default `DEFAULT_FAILED_AUTH_LIMIT`). */
  failedAuthLimit?: FailedAuthLimit;
}

/** What the route plugins reach through `app.services`: what the services take, and the intake. */
export interface ApiServices extends ServiceDeps {
  readinessTimeoutMs: number;
  intake: Intake;
  now: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: ApiServices;
  }
}
