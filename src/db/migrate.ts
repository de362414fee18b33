import { inspect } from 'node:util';
import { Migrator, sql } from 'kysely';
import type { Db } from './connect.js';
import { migrationProvider } from './migrations/index.js';

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/**
 * Applies every pending migration; returns the names applied now. Kysely's bookkeeping tables
 * are pinned to the connection's own schema: unpinned, Kysely takes a `kysely_migration_lock`
 * it finds in any other schema of the database (another app's, another test's) for its own.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema: rows[0]?.schema ?? 'public' });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`Migration ${failed} failed: ${error instanceof Error ? error.message : inspect(error)}`, {
      cause: error,
    });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
