import type { Config } from './config/config.js';
import { connectDatabase, type Db } from './db/connect.js';
import type { Logger } from './logging/logger.js';
import { createStorage } from './storage/create-storage.js';
import type { ObjectStorage } from './storage/object-storage.js';
import { createTelemetry } from './telemetry/create-telemetry.js';
import type { Telemetry } from './telemetry/telemetry.js';

/** The outside world as the API and the worker both reach it. */
export interface Adapters {
  db: Db;
  storage: ObjectStorage;
  telemetry: Telemetry;
  close(): Promise<void>;
}

/** Where the API answers, for URLs it hands out (local signed files). */
export const publicBaseUrl = (config: Config): string =>
  config.PUBLIC_URL ?? `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;

export async function createAdapters(config: Config, logger: Logger): Promise<Adapters> {
  const db = await connectDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  const storage = await createStorage(config, publicBaseUrl(config));
  // Local buckets are folders this service owns; Supabase's are the operator's to create.
  if (storage.kind === 'local') {
    await storage.ensureBucket(config.PREVIEW_BUCKET);
    await storage.ensureBucket(config.PRINT_BUCKET);
  }
  const telemetry = createTelemetry({ apiKey: config.POSTHOG_API_KEY, host: config.POSTHOG_HOST, logger });
  return {
    db,
    storage,
    telemetry,
    async close() {
      await telemetry.shutdown();
      await db.destroy();
    },
  };
}
