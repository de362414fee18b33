import type { Config } from '../config/config.js';
import type { Db } from '../db/connect.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { TemporalAccess } from '../temporal/temporal-access.js';

/** What the services and the intake work with: the outside world and the budgets of their calls. */
export interface ServiceDeps {
  config: Config;
  db: Db;
  storage: ObjectStorage;
  temporal: TemporalAccess;
  telemetry: Telemetry;
  /** Budget of the Temporal calls one request makes (Shopify waits 5 s). */
  temporalTimeoutMs: number;
}
