import { finalAssetKey, type LineKey } from '../../domain/ids.js';
import type { FinalAsset, LineStatus } from '../../domain/line-status.js';
import type { Transaction } from 'kysely';
import type { Db } from '../connect.js';
import type { Database } from '../schema.js';
import { orderLineValues, toFinalAsset, type OrderLineIdentity } from './order-lines.js';
import { recordingStatus } from './orders.js';

export interface NewFinalAsset extends FinalAsset {
  source_bucket: string;
  source_path: string;
  job_id: string;
}

/** A line's recorded final asset, with when the line's row last changed (what the status route shows). */
export interface RecordedAsset {
  asset: FinalAsset;
  line_updated_at: string;
  /** `persisted`, or `withheld` when its order was closed (see `recordingStatus`). */
  line_status: LineStatus;
}

/** The line was erased on a privacy request while its copy ran: the copy is not recorded (and its maker removes it). */
export class LineRedactedError extends Error {
  override readonly name = 'LineRedactedError';
}

/** The line's final asset, if one is recorded: one lookup by its association key. */
export async function findFinalAsset(db: Db | Transaction<Database>, key: LineKey): Promise<RecordedAsset | undefined> {
  const row = await db
    .selectFrom('final_assets')
    .innerJoin('order_lines', (join) =>
      join.onRef('order_lines.shop_id', '=', 'final_assets.shop_id').onRef('order_lines.order_line_id', '=', 'final_assets.order_line_id'),
    )
    .selectAll('final_assets')
    .select(['order_lines.updated_at as line_updated_at', 'order_lines.status as line_status'])
    .where('final_assets.association_key', '=', finalAssetKey(key))
    .executeTakeFirst();
  return row ? { asset: toFinalAsset(row), line_updated_at: row.line_updated_at.toISOString(), line_status: row.line_status } : undefined;
}

/**
 * Records the line's asset and marks the line persisted, atomically, under the order's lock:
 * a line whose order was closed first is marked `withheld` instead, so no line is ever
 * persisted after its cancellation was recorded. The association key makes this idempotent: a
 * repeat, or a late duplicate run, gets the asset recorded first. Says when the line's row
 * changed, with the asset.
 */
export async function persistFinalAsset(db: Db, line: OrderLineIdentity, asset: NewFinalAsset): Promise<RecordedAsset> {
  return db.transaction().execute(async (trx) => {
    const status = await recordingStatus(trx, line);
    if (status === 'redacted') throw new LineRedactedError(`line ${line.order_line_id} was redacted while its asset was copied`);
    const row = await trx
      .with('inserted', (db) =>
        db
          .insertInto('final_assets')
          .values({ association_key: finalAssetKey(line), shop_id: line.shop_id, order_line_id: line.order_line_id, ...asset })
          // No target: the line's second unique key, (shop_id, order_line_id), counts too. Racing
          // inserts that both pass the first key's check otherwise meet there as an error.
          .onConflict((oc) => oc.doNothing())
          .returningAll(),
      )
      .with('persisted_line', (db) =>
        db
          .insertInto('order_lines')
          .values({ ...orderLineValues(line), status })
          .onConflict((oc) =>
            oc.columns(['shop_id', 'order_line_id']).doUpdateSet({
              status,
              reason_code: null,
              reason_message: null,
              recovery_guidance: null,
              updated_at: new Date(),
            }),
          )
          .returning(['updated_at', 'status']),
      )
      .selectFrom(['inserted', 'persisted_line'])
      .selectAll('inserted')
      .select(['persisted_line.updated_at as line_updated_at', 'persisted_line.status as line_status'])
      .executeTakeFirst();
    if (row) return { asset: toFinalAsset(row), line_updated_at: row.line_updated_at.toISOString(), line_status: row.line_status };
    // The asset was recorded before (the statement's snapshot cannot show it): the line is
    // persisted (or withheld) all the same, and the recorded asset is the answer.
    const recorded = await findFinalAsset(trx, line);
    if (!recorded) throw new Error(`final asset ${finalAssetKey(line)} neither inserted nor found`);
    return recorded;
  });
}
