import { sql, type Kysely } from 'kysely';

// Forward-only: there is no `down`. Migrations see the database as it was when they were written: `Kysely<unknown>` on purpose.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('preview_jobs')
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('personalization_id', 'text', (col) => col.notNull())
    .addColumn('job_id', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('ready', 'rendering', 'failed')`))
    .addColumn('bucket', 'text')
    .addColumn('path', 'text')
    .addColumn('content_type', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('preview_jobs_pkey', ['shop_id', 'personalization_id'])
    .addCheckConstraint('preview_jobs_ready_has_path', sql`status <> 'ready' or (bucket is not null and path is not null)`)
    .execute();
  // Finding a personalization_id recorded for another shop is how shop_mismatch is told apart.
  await db.schema.createIndex('preview_jobs_personalization_id_idx').on('preview_jobs').column('personalization_id').execute();

  await db.schema
    .createTable('order_lines')
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('order_line_id', 'text', (col) => col.notNull())
    .addColumn('order_id', 'text', (col) => col.notNull())
    .addColumn('personalization_id', 'text', (col) => col.notNull())
    .addColumn('workflow_id', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('processing', 'waiting_for_preview', 'persisted', 'failed')`))
    .addColumn('reason_code', 'text')
    .addColumn('reason_message', 'text')
    .addColumn('recovery_guidance', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('order_lines_pkey', ['shop_id', 'order_line_id'])
    .execute();
  await db.schema.createIndex('order_lines_shop_status_idx').on('order_lines').columns(['shop_id', 'status']).execute();
  await db.schema.createIndex('order_lines_personalization_idx').on('order_lines').columns(['shop_id', 'personalization_id']).execute();

  await db.schema
    .createTable('final_assets')
    .addColumn('association_key', 'text', (col) => col.primaryKey())
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('order_line_id', 'text', (col) => col.notNull())
    .addColumn('bucket', 'text', (col) => col.notNull())
    .addColumn('path', 'text', (col) => col.notNull())
    .addColumn('sha256', 'text', (col) => col.notNull().check(sql`sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('size_bytes', 'bigint', (col) => col.notNull().check(sql`size_bytes > 0`))
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('width', 'integer', (col) => col.notNull())
    .addColumn('height', 'integer', (col) => col.notNull())
    .addColumn('source_bucket', 'text', (col) => col.notNull())
    .addColumn('source_path', 'text', (col) => col.notNull())
    .addColumn('job_id', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('final_assets_line_key', ['shop_id', 'order_line_id'])
    .addForeignKeyConstraint('final_assets_line_fkey', ['shop_id', 'order_line_id'], 'order_lines', ['shop_id', 'order_line_id'])
    .execute();

  await db.schema
    .createTable('fulfillment_failures')
    .addColumn('shop_id', 'text', (col) => col.notNull())
    .addColumn('failure_key', 'text', (col) => col.notNull())
    .addColumn('order_line_id', 'text', (col) => col.notNull())
    .addColumn('workflow_id', 'text', (col) => col.notNull())
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('reason_code', 'text', (col) => col.notNull())
    .addColumn('message', 'text', (col) => col.notNull())
    .addColumn('recovery_guidance', 'text', (col) => col.notNull())
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('fulfillment_failures_pkey', ['shop_id', 'failure_key'])
    .execute();
  await db.schema
    .createIndex('fulfillment_failures_line_idx')
    .on('fulfillment_failures')
    .columns(['shop_id', 'order_line_id', 'created_at'])
    .execute();
}
