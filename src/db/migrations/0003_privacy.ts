import { sql, type Kysely } from 'kysely';

// Privacy: Shopify's customers/data_request, customers/redact and shop/redact. Neither table
// has a column for a customer's email or phone: the intake parses them away before anything is
// written.
export async function up(db: Kysely<unknown>): Promise<void> {
  // A redaction recorded before its order came: the order's lines never start.
  await db.schema.alterTable('orders').addColumn('redacted_at', 'timestamptz').execute();

  await sql`alter table order_lines drop constraint order_lines_status_check`.execute(db);
  await sql`alter table order_lines add constraint order_lines_status_check
    check (status in ('processing', 'waiting_for_preview', 'persisted', 'failed', 'cancelled', 'withheld', 'redacted'))`.execute(db);

  // What printready held for the orders a customer asked about, as it was when the request came;
  // a later redaction drops its orders from it, and shop/redact drops the row.
  await db.schema
    .createTable('data_requests')
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('data_request_id', 'text', (col) => col.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('received_at', 'timestamptz', (col) => col.notNull())
    .addColumn('report', 'jsonb', (col) => col.notNull())
    .addPrimaryKeyConstraint('data_requests_pkey', ['shop_id', 'data_request_id'])
    .execute();

  // One row per redaction Shopify asked for: `request_key` is the payload's identity (the
  // customer and the sorted orders, or the shop), so a redelivery finds the same row and id.
  await db.schema
    .createTable('redactions')
    .addColumn('redaction_id', 'text', (col) => col.primaryKey())
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('request_key', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('customer', 'shop')`))
    .addColumn('order_ids', 'jsonb', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('running', 'completed')`))
    .addColumn('orders_redacted', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('lines_redacted', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('objects_deleted', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('received_at', 'timestamptz', (col) => col.notNull())
    .addColumn('completed_at', 'timestamptz')
    .addUniqueConstraint('redactions_request_key', ['shop_id', 'request_key'])
    .execute();
}
