// What reconciliation reads and writes: each shop's watermark, and which lines are known already.
import { sql } from 'kysely';
import type { Db } from '../connect.js';

/** How far the shop's completed sweeps have read (the greatest order `updatedAt`), or null before the first. */
export async function readWatermark(db: Db, shopId: string): Promise<Date | null> {
  const row = await db.selectFrom('reconcile_watermarks').select('updated_through').where('shop_id', '=', shopId).executeTakeFirst();
  return row?.updated_through ?? null;
}

/**
 * Records a completed sweep's reach. It only moves forward: a sweep that finishes after a later
 * one (an operator's sweep from an old `since`) leaves the later reach in place.
 */
export async function advanceWatermark(db: Db, shopId: string, through: Date, reconcileId: string): Promise<void> {
  await db
    .insertInto('reconcile_watermarks')
    .values({ shop_id: shopId, updated_through: through, reconcile_id: reconcileId })
    .onConflict((oc) =>
      oc
        .column('shop_id')
        .doUpdateSet({
          updated_through: (eb) => eb.ref('excluded.updated_through'),
          reconcile_id: (eb) => eb.ref('excluded.reconcile_id'),
          completed_at: sql`now()`,
        })
        .where('reconcile_watermarks.updated_through', '<', (eb) => eb.ref('excluded.updated_through')),
    )
    .execute();
}

/**
 * The lines of `lineIds` printready has a row for: started before (by a webhook, or an earlier
 * sweep). A sweep starts none of them again, also once Temporal has forgotten their workflow ids.
 */
export async function knownLineIds(db: Db, shopId: string, lineIds: readonly string[]): Promise<Set<string>> {
  if (lineIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('order_lines')
    .select('order_line_id')
    .where('shop_id', '=', shopId)
    .where('order_line_id', 'in', lineIds)
    .execute();
  return new Set(rows.map((row) => row.order_line_id));
}
