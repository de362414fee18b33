import { sql, type Kysely } from 'kysely';

// Reconciliation: per shop, how far its completed sweeps have read the Admin API's orders (the
// greatest `updatedAt` seen). The next sweep asks from there, less an overlap.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reconcile_watermarks')
    .addColumn('shop_id', 'text', (col) => col.primaryKey())
    .addColumn('updated_through', 'timestamptz', (col) => col.notNull())
    .addColumn('reconcile_id', 'text', (col) => col.notNull())
    .addColumn('completed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
}
