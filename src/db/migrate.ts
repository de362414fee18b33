import { Migrator } from 'kysely';
import type { Db } from './connect.js';
import { migrationProvider } from './migrations/index.js';

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/**
 * Applies every pending migration; returns the names applied now. `migrationTableSchema` pins
 * Kysely's bookkeeping tables to one schema: without it Kysely takes a `kysely_migration_lock`
 * in any other schema of the database (another test file's) for its own.
 */
export async function migrateToLatest(db: Db, options: { migrationTableSchema?: string | undefined } = {}): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(options.migrationTableSchema ? { migrationTableSchema: options.migrationTableSchema } : {}),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`Migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
