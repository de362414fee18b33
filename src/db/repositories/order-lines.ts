import { fulfillmentWorkflowId, type LineKey } from '../../domain/ids.js';
import type { FinalAsset, LineStatus, LineStatusView } from '../../domain/line-status.js';
import type { Db } from '../connect.js';
import type { FinalAssetRow, OrderLineRow } from '../schema.js';

export interface OrderLineIdentity extends LineKey {
  order_id: string;
  personalization_id: string;
}

/** The identifying columns of a line's row. */
export const orderLineValues = (line: OrderLineIdentity) => ({
  shop_id: line.shop_id,
  order_line_id: line.order_line_id,
  order_id: line.order_id,
  personalization_id: line.personalization_id,
  workflow_id: fulfillmentWorkflowId(line),
});

/** Intake: makes the lines visible at once; a line already known keeps its state. */
export async function registerOrderLines(db: Db, lines: OrderLineIdentity[]): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto('order_lines')
    .values(lines.map((line) => ({ ...orderLineValues(line), status: 'processing' as const })))
    .onConflict((oc) => oc.columns(['shop_id', 'order_line_id']).doNothing())
    .execute();
}

/**
 * Moves a line into a working state and clears any earlier failure. Failing goes through
 * `recordLineFailure`, persisting through `persistFinalAsset`: each writes its own rows too.
 */
export async function setLineWorking(
  db: Db,
  line: OrderLineIdentity,
  status: Extract<LineStatus, 'processing' | 'waiting_for_preview'>,
): Promise<void> {
  const working = { status, reason_code: null, reason_message: null, recovery_guidance: null, updated_at: new Date() };
  await db
    .insertInto('order_lines')
    .values({ ...orderLineValues(line), ...working })
    // A persisted line stays persisted, whatever a late duplicate run does.
    .onConflict((oc) =>
      oc.columns(['shop_id', 'order_line_id']).doUpdateSet(working).where('order_lines.status', '<>', 'persisted'),
    )
    .execute();
}

export async function getOrderLineView(db: Db, key: LineKey): Promise<LineStatusView | undefined> {
  const line = await db
    .selectFrom('order_lines')
    .selectAll()
    .where('shop_id', '=', key.shop_id)
    .where('order_line_id', '=', key.order_line_id)
    .executeTakeFirst();
  if (!line) return undefined;
  const asset = await db
    .selectFrom('final_assets')
    .selectAll()
    .where('shop_id', '=', key.shop_id)
    .where('order_line_id', '=', key.order_line_id)
    .executeTakeFirst();
  return toLineStatusView(line, asset ?? null);
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
    status: line.status as LineStatus,
    reason_code: line.reason_code,
    reason_message: line.reason_message,
    recovery_guidance: line.recovery_guidance,
    final_asset: asset ? toFinalAsset(asset) : null,
    updated_at: line.updated_at.toISOString(),
  };
}

/** Lines parked on a preview that is still rendering: the hand-off route wakes them. */
export async function linesWaitingForPreview(db: Db, shopId: string, personalizationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('order_lines')
    .select('workflow_id')
    .where('shop_id', '=', shopId)
    .where('personalization_id', '=', personalizationId)
    .where('status', '=', 'waiting_for_preview')
    .execute();
  return rows.map((row) => row.workflow_id);
}
