import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export interface DatabaseOptions {
  /** A real Postgres server; without it, embedded PGlite keeps its files in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Isolates a test file: every query runs in this schema. */
  schema?: string;
  poolSize?: number;
}

export type Db = Kysely<Database>;

/** Connections a process holds to Postgres at most. */
export const DATABASE_POOL_SIZE = 10;

export async function connectDatabase(options: DatabaseOptions): Promise<Db> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? DATABASE_POOL_SIZE,
      connectionTimeoutMillis: 5_000,
      // A dead server must fail a query fast, so the activity retries instead of hanging.
      query_timeout: 30_000,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // A client losing its server emits 'error' besides failing its query. The pool hears it
    // from idle clients and replaces them; nothing hears it from a client in use, and an
    // unheard 'error' would end the process. The query's own error is what counts.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const directory = path.resolve(options.dataDir, 'pglite');
  await mkdir(directory, { recursive: true });
  const { PGliteDialect } = await import('./pglite-dialect.js');
  return new Kysely<Database>({ dialect: new PGliteDialect(new PGlite(directory)) });
}
