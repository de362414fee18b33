import { sql } from 'kysely';
import { fulfillmentWorkflowId, type LineKey } from '../../domain/ids.js';
import type { LineIdentity } from '../../domain/line-identity.js';
import { SETTLED_STATUSES, type FinalAsset, type LineStatus, type LineStatusView } from '../../domain/line-status.js';
import type { Db } from '../connect.js';
import type { FinalAssetRow, OrderLineRow } from '../schema.js';

/** A line's row is keyed and labelled by the line's identity (domain/line-identity). */
export type OrderLineIdentity = LineIdentity;

/** The identifying columns of a line's row. */
export const orderLineValues = (line: OrderLineIdentity) => ({
  shop_id: line.shop_id,
  order_line_id: line.order_line_id,
  order_id: line.order_id,
  personalization_id: line.personalization_id,
  workflow_id: fulfillmentWorkflowId(line),
});

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byLineKey = (a: LineKey, b: LineKey) =>
  a.shop_id === b.shop_id ? compare(a.order_line_id, b.order_line_id) : compare(a.shop_id, b.shop_id);

/**
 * Intake: makes the lines visible at once; a line already known keeps its state, and a line
 * given twice is written once. Rows go in key order, so that two API instances inserting
 * overlapping batches (a redelivery, `orders/create` beside `orders/paid`) take the unique
 * index's locks in the same order instead of deadlocking. The columns go as arrays (`unnest`,
 * which yields them in order): one statement text for any number of lines, nothing to build per
 * delivery, and no limit of 65,535 parameters for a large order.
 */
export async function registerOrderLines(db: Db, lines: readonly OrderLineIdentity[]): Promise<void> {
  const rows = lines.map(orderLineValues).sort(byLineKey);
  const column = (name: keyof (typeof rows)[number]) => rows.map((row) => row[name]);
  await sql`
    insert into order_lines (shop_id, order_line_id, order_id, personalization_id, workflow_id, status)
    select *, 'processing' from unnest(
      ${column('shop_id')}::text[], ${column('order_line_id')}::text[], ${column('order_id')}::text[],
      ${column('personalization_id')}::text[], ${column('workflow_id')}::text[])
    on conflict (shop_id, order_line_id) do nothing`.execute(db);
}

/** When a write changed the line's row (its `updated_at`), or null when it left the row alone. */
export const changedAt = (row: { updated_at: Date } | undefined): string | null => row?.updated_at.toISOString() ?? null;

/**
 * Moves a line into a working state and clears any earlier failure. Failing goes through
 * `recordLineFailure`, persisting through `persistFinalAsset`: each writes its own rows too.
 */
export async function setLineWorking(
  db: Db,
  line: OrderLineIdentity,
  status: Extract<LineStatus, 'processing' | 'waiting_for_preview'>,
): Promise<string | null> {
  const working = { status, reason_code: null, reason_message: null, recovery_guidance: null, updated_at: new Date() };
  const row = await db
    .insertInto('order_lines')
    .values({ ...orderLineValues(line), ...working })
    // A persisted or closed line stays so, whatever a late duplicate run or a step in flight does.
    .onConflict((oc) =>
      oc.columns(['shop_id', 'order_line_id']).doUpdateSet(working).where('order_lines.status', 'not in', SETTLED_STATUSES),
    )
    .returning('updated_at')
    .executeTakeFirst();
  return changedAt(row);
}

/** Lines with their final asset (a left join: the asset's columns are null for a line without one). */
const linesWithAssets = (db: Db) =>
  db
    .selectFrom('order_lines')
    .leftJoin('final_assets', (join) =>
      join.onRef('final_assets.shop_id', '=', 'order_lines.shop_id').onRef('final_assets.order_line_id', '=', 'order_lines.order_line_id'),
    )
    .selectAll('order_lines')
    .select([
      'final_assets.bucket as asset_bucket',
      'final_assets.path as asset_path',
      'final_assets.sha256 as asset_sha256',
      'final_assets.size_bytes as asset_size_bytes',
      'final_assets.content_type as asset_content_type',
      'final_assets.width as asset_width',
      'final_assets.height as asset_height',
    ]);

type LineWithAssetRow = Awaited<ReturnType<ReturnType<typeof linesWithAssets>['executeTakeFirstOrThrow']>>;

function toLineWithAssetView(row: LineWithAssetRow): LineStatusView {
  const { asset_bucket, asset_path, asset_sha256, asset_size_bytes, asset_content_type, asset_width, asset_height, ...line } = row;
  const view = toLineStatusView(line, null);
  // The asset's columns come from a left join: all null when the line has no asset, none null when it has one.
  if (
    asset_bucket === null ||
    asset_path === null ||
    asset_sha256 === null ||
    asset_content_type === null ||
    asset_width === null ||
    asset_height === null
  ) {
    return view;
  }
  return {
    ...view,
    final_asset: {
      bucket: asset_bucket,
      path: asset_path,
      sha256: asset_sha256,
      size_bytes: Number(asset_size_bytes),
      content_type: asset_content_type,
      width: asset_width,
      height: asset_height,
    },
  };
}

/** The line and its final asset, in one round trip. */
export async function getOrderLineView(db: Db, key: LineKey): Promise<LineStatusView | undefined> {
  const row = await linesWithAssets(db)
    .where('order_lines.shop_id', '=', key.shop_id)
    .where('order_lines.order_line_id', '=', key.order_line_id)
    .executeTakeFirst();
  return row ? toLineWithAssetView(row) : undefined;
}

/** Every personalized line of an order with its final asset, in one round trip, in line id order. */
export async function getOrderLineViews(db: Db, order: { shop_id: string; order_id: string }): Promise<LineStatusView[]> {
  const rows = await linesWithAssets(db)
    .where('order_lines.shop_id', '=', order.shop_id)
    .where('order_lines.order_id', '=', order.order_id)
    .orderBy('order_lines.order_line_id')
    .execute();
  return rows.map(toLineWithAssetView);
}

export function toFinalAsset(row: FinalAssetRow): FinalAsset {
  return {
    bucket: row.bucket,
    path: row.path,
    sha256: row.sha256,
    size_bytes: Number(row.size_bytes),
    content_type: row.content_type,
    width: row.width,
    height: row.height,
  };
}

export function toLineStatusView(line: OrderLineRow, asset: FinalAssetRow | null): LineStatusView {
  return {
    shop_id: line.shop_id,
    order_id: line.order_id,
    order_line_id: line.order_line_id,
    personalization_id: line.personalization_id,
    workflow_id: line.workflow_id,
    status: line.status,
    reason_code: line.reason_code,
    reason_message: line.reason_message,
    recovery_guidance: line.recovery_guidance,
    final_asset: asset ? toFinalAsset(asset) : null,
    updated_at: line.updated_at.toISOString(),
  };
}

/**
 * Lines the hand-off route wakes when a preview is done: those parked on it, and those still
 * working, since a line reads the job as rendering before it records that it waits, and a
 * hand-off in between would otherwise leave it to its next poll, minutes later.
 */
export async function linesToWakeForPreview(db: Db, shopId: string, personalizationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('order_lines')
    .select('workflow_id')
    .where('shop_id', '=', shopId)
    .where('personalization_id', '=', personalizationId)
    .where('status', 'in', ['waiting_for_preview', 'processing'])
    .execute();
  return rows.map((row) => row.workflow_id);
}
