import { sql, type Kysely } from 'kysely';

// Order events to the print side (ORDER_EVENTS_URL): one row per event, keyed by its
// deterministic id, so that two lines persisting at once record one `order.ready_for_print`;
// `created_at` is the event's, the same on every redelivery.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('order_events')
    .addColumn('event_id', 'text', (col) => col.primaryKey())
    .addColumn('type', 'text', (col) => col.notNull().check(sql`type in ('order.ready_for_print', 'order.needs_attention')`))
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('order_id', 'text', (col) => col.notNull())
    // A needs-attention event's line and the failure it reports (`fulfillment_failures.failure_key`).
    .addColumn('order_line_id', 'text')
    .addColumn('failure_key', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('outcome', 'text', (col) => col.check(sql`outcome in ('delivered', 'stopped', 'undelivered')`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('order_events_order_idx').on('order_events').columns(['shop_id', 'order_id']).execute();
}
