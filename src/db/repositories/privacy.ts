// What the privacy topics record and erase. Every statement is scoped by the shop: a request
// naming another shop's order ids finds only this shop's rows.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { DataRequestReport, DataRequestView, RedactionCounts, RedactionKind, RedactionView } from '../../domain/privacy.js';
import type { Db } from '../connect.js';
import type { RedactionsTable } from '../schema.js';
import type { Selectable } from 'kysely';

export type RedactionRow = Selectable<RedactionsTable>;

export interface NewDataRequest {
  shop_id: string;
  data_request_id: string;
  customer_id: string | null;
  received_at: Date;
  order_ids: readonly string[];
}

/** Order lines with their final asset and the preview job they were made from, when there are any. */
const linesWithTheirObjects = (db: Db) =>
  db
    .selectFrom('order_lines')
    .leftJoin('final_assets', (join) =>
      join.onRef('final_assets.shop_id', '=', 'order_lines.shop_id').onRef('final_assets.order_line_id', '=', 'order_lines.order_line_id'),
    )
    .leftJoin('preview_jobs', (join) =>
      join
        .onRef('preview_jobs.shop_id', '=', 'order_lines.shop_id')
        .onRef('preview_jobs.personalization_id', '=', 'order_lines.personalization_id'),
    );

/** What printready holds for these orders of the shop: each order asked about, with its lines. */
async function reportOn(db: Db, shopId: string, orderIds: readonly string[]): Promise<DataRequestReport> {
  if (orderIds.length === 0) return { orders: [] };
  const rows = await linesWithTheirObjects(db)
    .select([
      'order_lines.order_id',
      'order_lines.order_line_id',
      'order_lines.personalization_id',
      'order_lines.status',
      'final_assets.bucket as asset_bucket',
      'final_assets.path as asset_path',
      'final_assets.sha256',
      'final_assets.size_bytes',
      'final_assets.content_type',
      'final_assets.width',
      'final_assets.height',
      'preview_jobs.bucket as preview_bucket',
      'preview_jobs.path as preview_path',
    ])
    .where('order_lines.shop_id', '=', shopId)
    .where('order_lines.order_id', 'in', orderIds)
    .where('order_lines.status', '!=', 'redacted')
    .orderBy('order_lines.order_line_id')
    .execute();
  return {
    orders: [...new Set(orderIds)].map((order_id) => ({
      order_id,
      lines: rows
        .filter((row) => row.order_id === order_id)
        .map((row) => ({
          order_line_id: row.order_line_id,
          personalization_id: row.personalization_id,
          status: row.status,
          final_asset:
            row.asset_bucket && row.asset_path && row.sha256 && row.content_type && row.width !== null && row.height !== null
              ? {
                  bucket: row.asset_bucket,
                  path: row.asset_path,
                  sha256: row.sha256,
                  size_bytes: Number(row.size_bytes),
                  content_type: row.content_type,
                  width: row.width,
                  height: row.height,
                }
              : null,
          preview: row.preview_bucket && row.preview_path ? { bucket: row.preview_bucket, path: row.preview_path } : null,
        })),
    })),
  };
}

/** Records a data request's report as printready's data stands now; a redelivery keeps the first one. */
export async function recordDataRequest(db: Db, request: NewDataRequest): Promise<void> {
  const report = await reportOn(db, request.shop_id, request.order_ids);
  await db
    .insertInto('data_requests')
    .values({
      shop_id: request.shop_id,
      data_request_id: request.data_request_id,
      customer_id: request.customer_id,
      received_at: request.received_at,
      report: JSON.stringify(report),
    })
    .onConflict((oc) => oc.columns(['shop_id', 'data_request_id']).doNothing())
    .execute();
}

export async function findDataRequest(db: Db, shopId: string, dataRequestId: string): Promise<DataRequestView | undefined> {
  const row = await db
    .selectFrom('data_requests')
    .selectAll()
    .where('shop_id', '=', shopId)
    .where('data_request_id', '=', dataRequestId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    data_request_id: row.data_request_id,
    shop_id: row.shop_id,
    customer_id: row.customer_id,
    received_at: row.received_at.toISOString(),
    orders: row.report.orders,
  };
}

export interface NewRedaction {
  shop_id: string;
  kind: RedactionKind;
  /** Shopify's identity of the request: the customer and the sorted order ids, or the shop's (`shopRedactionKey`). */
  request_key: string;
  order_ids: readonly string[];
  received_at: Date;
}

/** A redaction's id, derived from its shop and request key: the same request always has the same id. */
const redactionId = (shopId: string, requestKey: string): string =>
  `rd_${createHash('sha256').update(`${shopId}\n${requestKey}`).digest('hex').slice(0, 32)}`;

/**
 * The request key of a `shop/redact`. Shopify sends one per uninstall (48 h after it), and a
 * shop that reinstalled and left again is a new request: the shop's latest shop redaction is
 * answered while it runs, and once completed while the shop holds nothing it would erase (a
 * redelivery); once the shop holds data again, the next redaction is keyed `shop:<n>`. Shopify's
 * headers cannot tell the two apart: a redelivery comes with a webhook id of its own.
 */
export async function shopRedactionKey(db: Db, shopId: string): Promise<string> {
  const earlier = await db
    .selectFrom('redactions')
    .select(['request_key', 'status'])
    .where('shop_id', '=', shopId)
    .where('kind', '=', 'shop')
    .orderBy('received_at', 'desc')
    .execute();
  const [latest] = earlier;
  if (!latest) return 'shop';
  if (latest.status === 'running' || !(await holdsShopData(db, shopId))) return latest.request_key;
  return `shop:${earlier.length + 1}`;
}

/** Whether the shop has anything a shop redaction erases: a line not redacted, a preview job or a data-request report. */
async function holdsShopData(db: Db, shopId: string): Promise<boolean> {
  const { holds } = await db
    .selectNoFrom((eb) =>
      eb
        .or([
          eb.exists(db.selectFrom('order_lines').select('shop_id').where('shop_id', '=', shopId).where('status', '!=', 'redacted')),
          eb.exists(db.selectFrom('preview_jobs').select('shop_id').where('shop_id', '=', shopId)),
          eb.exists(db.selectFrom('data_requests').select('shop_id').where('shop_id', '=', shopId)),
        ])
        .as('holds'),
    )
    .executeTakeFirstOrThrow();
  return Boolean(holds);
}

/** Records a redaction, or finds the one recorded for the same request (a redelivery). */
export async function recordRedaction(db: Db, redaction: NewRedaction): Promise<RedactionRow> {
  await db
    .insertInto('redactions')
    .values({
      redaction_id: redactionId(redaction.shop_id, redaction.request_key),
      shop_id: redaction.shop_id,
      request_key: redaction.request_key,
      kind: redaction.kind,
      order_ids: JSON.stringify(redaction.order_ids),
      status: 'running',
      received_at: redaction.received_at,
    })
    .onConflict((oc) => oc.columns(['shop_id', 'request_key']).doNothing())
    .execute();
  return db
    .selectFrom('redactions')
    .selectAll()
    .where('shop_id', '=', redaction.shop_id)
    .where('request_key', '=', redaction.request_key)
    .executeTakeFirstOrThrow();
}

export async function findRedaction(db: Db, shopId: string, id: string): Promise<RedactionRow | undefined> {
  return db.selectFrom('redactions').selectAll().where('shop_id', '=', shopId).where('redaction_id', '=', id).executeTakeFirst();
}

export const toRedactionView = (row: RedactionRow): RedactionView => ({
  redaction_id: row.redaction_id,
  kind: row.kind,
  status: row.status,
  orders_redacted: row.orders_redacted,
  lines_redacted: row.lines_redacted,
  objects_deleted: row.objects_deleted,
  completed_at: row.completed_at?.toISOString() ?? null,
});

export const redactionCounts = (row: RedactionRow): RedactionCounts => ({
  orders_redacted: row.orders_redacted,
  lines_redacted: row.lines_redacted,
  objects_deleted: row.objects_deleted,
});

/**
 * Marks the redaction's orders erased (every order of the shop for `shop`), each row locked as
 * a line's start and an asset's recording lock it: from here no line of them starts or records
 * an asset. Order rows are created for orders not seen yet, so their `orders/create` starts nothing.
 */
export async function markOrdersRedacted(db: Db, redaction: RedactionRow): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let orderIds = redaction.order_ids;
    if (redaction.kind === 'shop') {
      const known = await trx.selectFrom('order_lines').select('order_id').distinct().where('shop_id', '=', redaction.shop_id).execute();
      const rows = await trx.selectFrom('orders').select('order_id').where('shop_id', '=', redaction.shop_id).execute();
      orderIds = [...new Set([...known, ...rows].map((row) => row.order_id))];
    }
    // In key order, as every other writer of several orders would: no deadlock between them.
    const sorted = [...new Set(orderIds)].sort();
    const now = new Date();
    for (let start = 0; start < sorted.length; start += 1000) {
      await trx
        .insertInto('orders')
        .values(sorted.slice(start, start + 1000).map((order_id) => ({ shop_id: redaction.shop_id, order_id, redacted_at: now })))
        .onConflict((oc) =>
          oc
            .columns(['shop_id', 'order_id'])
            .doUpdateSet({ redacted_at: sql`coalesce(orders.redacted_at, excluded.redacted_at)`, updated_at: now }),
        )
        .execute();
    }
    await trx
      .updateTable('redactions')
      .set({ orders_redacted: sorted.length })
      .where('redaction_id', '=', redaction.redaction_id)
      .execute();
    return sorted.length;
  });
}

/** A line a redaction erases, with the objects it points to. */
export interface LineToErase {
  order_id: string;
  order_line_id: string;
  workflow_id: string;
  personalization_id: string;
  final_asset: { bucket: string; path: string } | null;
  /** The preview its job points to, unless a line of an order not erased still uses it. */
  preview: { bucket: string; path: string } | null;
  /** Its preview job is erased with it: it has one, and no line of an order not erased uses it. */
  erase_job: boolean;
}

/**
 * The next lines of the redaction's scope after `after` (order_line_id order), redacted or
 * not: a rerun after a crash walks the same lines again and finishes what was left.
 */
export async function linesToErase(db: Db, redaction: RedactionRow, after: string | null, limit: number): Promise<LineToErase[]> {
  let query = linesWithTheirObjects(db)
    .select([
      'order_lines.order_id',
      'order_lines.order_line_id',
      'order_lines.workflow_id',
      'order_lines.personalization_id',
      'final_assets.bucket as asset_bucket',
      'final_assets.path as asset_path',
      'preview_jobs.bucket as preview_bucket',
      'preview_jobs.path as preview_path',
      'preview_jobs.job_id',
    ])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('order_lines as other')
            .leftJoin('orders', (join) =>
              join.onRef('orders.shop_id', '=', 'other.shop_id').onRef('orders.order_id', '=', 'other.order_id'),
            )
            .select('other.order_line_id')
            .whereRef('other.shop_id', '=', 'order_lines.shop_id')
            .whereRef('other.personalization_id', '=', 'order_lines.personalization_id')
            .where('orders.redacted_at', 'is', null),
        )
        .as('preview_shared'),
    )
    .where('order_lines.shop_id', '=', redaction.shop_id)
    .orderBy('order_lines.order_line_id')
    .limit(limit);
  if (redaction.kind === 'customer') {
    if (redaction.order_ids.length === 0) return [];
    query = query.where('order_lines.order_id', 'in', redaction.order_ids);
  }
  if (after !== null) query = query.where('order_lines.order_line_id', '>', after);
  const rows = await query.execute();
  return rows.map((row) => ({
    order_id: row.order_id,
    order_line_id: row.order_line_id,
    workflow_id: row.workflow_id,
    personalization_id: row.personalization_id,
    final_asset: row.asset_bucket && row.asset_path ? { bucket: row.asset_bucket, path: row.asset_path } : null,
    preview: row.preview_bucket && row.preview_path && !row.preview_shared ? { bucket: row.preview_bucket, path: row.preview_path } : null,
    erase_job: row.job_id !== null && !row.preview_shared,
  }));
}

/**
 * Erases the lines' data in one transaction: their asset references, failure records and
 * preview jobs (unless another line still uses the job), and their personalization id; the
 * lines end `redacted`. Counts each line once, when it changes.
 */
export async function eraseLines(db: Db, redaction: RedactionRow, lines: readonly LineToErase[]): Promise<number> {
  if (lines.length === 0) return 0;
  const shopId = redaction.shop_id;
  const lineIds = lines.map((line) => line.order_line_id);
  const jobs = lines.filter((line) => line.erase_job).map((line) => line.personalization_id);
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('final_assets').where('shop_id', '=', shopId).where('order_line_id', 'in', lineIds).execute();
    await trx.deleteFrom('fulfillment_failures').where('shop_id', '=', shopId).where('order_line_id', 'in', lineIds).execute();
    if (jobs.length > 0)
      await trx.deleteFrom('preview_jobs').where('shop_id', '=', shopId).where('personalization_id', 'in', jobs).execute();
    const changed = await trx
      .updateTable('order_lines')
      .set({
        status: 'redacted',
        personalization_id: '',
        reason_code: null,
        reason_message: null,
        recovery_guidance: null,
        updated_at: new Date(),
      })
      .where('shop_id', '=', shopId)
      .where('order_line_id', 'in', lineIds)
      .where('status', '!=', 'redacted')
      .returning('order_line_id')
      .execute();
    if (changed.length > 0) {
      await trx
        .updateTable('redactions')
        .set((eb) => ({ lines_redacted: eb('lines_redacted', '+', changed.length) }))
        .where('redaction_id', '=', redaction.redaction_id)
        .execute();
    }
    return changed.length;
  });
}

export async function countObjectsDeleted(db: Db, redactionId: string, deleted: number): Promise<void> {
  if (deleted === 0) return;
  await db
    .updateTable('redactions')
    .set((eb) => ({ objects_deleted: eb('objects_deleted', '+', deleted) }))
    .where('redaction_id', '=', redactionId)
    .execute();
}

/**
 * The redaction's last database step: earlier data-request reports drop its orders (for
 * `shop/redact`: the shop's reports, preview jobs and refund records go), and it is marked
 * completed, once. Answers the row as it ends.
 */
export async function completeRedaction(db: Db, redaction: RedactionRow): Promise<{ row: RedactionRow; completedNow: boolean }> {
  return db.transaction().execute(async (trx) => {
    const shopId = redaction.shop_id;
    if (redaction.kind === 'shop') {
      await trx.deleteFrom('data_requests').where('shop_id', '=', shopId).execute();
      await trx.deleteFrom('preview_jobs').where('shop_id', '=', shopId).execute();
      await trx.deleteFrom('order_refunds').where('shop_id', '=', shopId).execute();
    } else if (redaction.order_ids.length > 0) {
      await trx
        .updateTable('data_requests')
        .set({
          report: sql`jsonb_build_object('orders', coalesce((
            select jsonb_agg(entry order by position) from jsonb_array_elements(report -> 'orders') with ordinality as e(entry, position)
            where not (entry ->> 'order_id' = any(${sql.val([...redaction.order_ids])}::text[]))), '[]'::jsonb))`,
        })
        .where('shop_id', '=', shopId)
        .execute();
    }
    const completed = await trx
      .updateTable('redactions')
      .set({ status: 'completed', completed_at: new Date() })
      .where('redaction_id', '=', redaction.redaction_id)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst();
    const row =
      completed ??
      (await trx.selectFrom('redactions').selectAll().where('redaction_id', '=', redaction.redaction_id).executeTakeFirstOrThrow());
    return { row, completedNow: completed !== undefined };
  });
}
