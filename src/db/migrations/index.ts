import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001_initial.js';

/** Listed, not globbed from disk, so the same code runs from `src`, `dist` and a bundle. */
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
