import type { Db } from '../db/connect.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import type { Telemetry } from '../telemetry/telemetry.js';

/** What activities reach the world through; built once per worker. */
export interface ActivityDeps {
  db: Db;
  storage: ObjectStorage;
  telemetry: Telemetry;
  printBucket: string;
}
