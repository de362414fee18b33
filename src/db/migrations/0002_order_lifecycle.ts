import { sql, type Kysely } from 'kysely';

// Part two: the order around its lines. The order row is what a line's start and the order's
// closure lock against each other (so neither misses the other); a later privacy migration adds
// its own columns (e.g. `redacted_at`) to the same row.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('order_id', 'text', (col) => col.notNull())
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('orders_pkey', ['shop_id', 'order_id'])
    .execute();

  // One row per refunded line per refund: a redelivered refund adds nothing, and the line is
  // closed once the refunds' quantities reach the line's quantity.
  await db.schema
    .createTable('order_refunds')
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('refund_id', 'text', (col) => col.notNull())
    .addColumn('order_line_id', 'text', (col) => col.notNull())
    .addColumn('order_id', 'text', (col) => col.notNull())
    .addColumn('quantity', 'integer', (col) => col.notNull().check(sql`quantity >= 0`))
    .addColumn('line_quantity', 'integer', (col) => col.notNull().check(sql`line_quantity >= 0`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('order_refunds_pkey', ['shop_id', 'refund_id', 'order_line_id'])
    .execute();
  await db.schema.createIndex('order_refunds_line_idx').on('order_refunds').columns(['shop_id', 'order_line_id']).execute();
  await db.schema.createIndex('order_lines_order_idx').on('order_lines').columns(['shop_id', 'order_id']).execute();

  await sql`alter table order_lines drop constraint order_lines_status_check`.execute(db);
  await sql`alter table order_lines add constraint order_lines_status_check
    check (status in ('processing', 'waiting_for_preview', 'persisted', 'failed', 'cancelled', 'withheld'))`.execute(db);
}
