import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';

export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Db;
  /** The URL (with the file's schema) other processes of this test can connect with. */
  url: string | undefined;
  schema: string | undefined;
  close(): Promise<void>;
}

/** A migrated database of the test's own: a fresh schema on the real Postgres, or a fresh PGlite. */
export async function createTestDatabase(kind: 'postgres' | 'pglite' = 'postgres'): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-pglite-'));
    const db = await connectDatabase({ dataDir });
    await migrateToLatest(db);
    return {
      db,
      url: undefined,
      schema: undefined,
      close: async () => {
        await db.destroy();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const db = await connectDatabase({ databaseUrl: TEST_DATABASE_URL, dataDir: '', schema });
  await migrateToLatest(db);
  return {
    db,
    url: withSearchPath(TEST_DATABASE_URL, schema),
    schema,
    close: async () => {
      await sql`drop schema ${sql.id(schema)} cascade`.execute(db);
      await db.destroy();
    },
  };
}

function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}
