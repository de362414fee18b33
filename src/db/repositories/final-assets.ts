import { finalAssetKey } from '../../domain/ids.js';
import type { FinalAsset } from '../../domain/line-status.js';
import type { Db } from '../connect.js';
import type { FinalAssetRow } from '../schema.js';
import { orderLineValues, toFinalAsset, type OrderLineIdentity } from './order-lines.js';

export interface NewFinalAsset extends FinalAsset {
  source_bucket: string;
  source_path: string;
  job_id: string;
}

/**
 * Records the line's asset and marks the line persisted, atomically. The association key
 * makes this idempotent: a repeat, or a late duplicate run, gets the asset recorded first.
 * Says when the line's row changed, with the asset.
 */
export async function persistFinalAsset(
  db: Db,
  line: OrderLineIdentity,
  asset: NewFinalAsset,
): Promise<{ asset: FinalAsset; line_updated_at: string }> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const row = await trx
      .insertInto('order_lines')
      .values({ ...orderLineValues(line), status: 'persisted' })
      .onConflict((oc) =>
        oc.columns(['shop_id', 'order_line_id']).doUpdateSet({
          status: 'persisted',
          reason_code: null,
          reason_message: null,
          recovery_guidance: null,
          updated_at: now,
        }),
      )
      .returning('updated_at')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('final_assets')
      .values({ association_key: finalAssetKey(line), shop_id: line.shop_id, order_line_id: line.order_line_id, ...asset })
      .onConflict((oc) => oc.column('association_key').doNothing())
      .execute();
    const stored: FinalAssetRow = await trx
      .selectFrom('final_assets')
      .selectAll()
      .where('association_key', '=', finalAssetKey(line))
      .executeTakeFirstOrThrow();
    return { asset: toFinalAsset(stored), line_updated_at: row.updated_at.toISOString() };
  });
}
