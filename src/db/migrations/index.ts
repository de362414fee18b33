import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001_initial.js';
import * as orderLifecycle from './0002_order_lifecycle.js';
import * as privacy from './0003_privacy.js';
import * as orderEvents from './0004_order_events.js';
import * as reconciliation from './0005_reconciliation.js';

/** Listed, not globbed from disk, so the same code runs from `src`, `dist` and a bundle. */
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_order_lifecycle': orderLifecycle,
  '0003_privacy': privacy,
  '0004_order_events': orderEvents,
  '0005_reconciliation': reconciliation,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
