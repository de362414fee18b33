import type { Db } from '../db/connect.js';
import { findFinalAsset } from '../db/repositories/final-assets.js';
import { setLineWorking } from '../db/repositories/order-lines.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { FinalAsset } from '../domain/line-status.js';
import type { LineRecorded } from './types.js';

/**
 * Opens the line for work, unless it already has its final asset: a late duplicate run
 * (after Temporal forgot the workflow id) must find it and do nothing. Opening leaves only a
 * persisted line alone, so the asset is looked for only then: one round trip for a new line.
 */
export async function beginFulfillment(
  db: Db,
  input: FulfillmentInput,
): Promise<{ final_asset: FinalAsset | null } & LineRecorded> {
  const openedAt = await setLineWorking(db, input, 'processing');
  if (openedAt !== null) return { final_asset: null, line_updated_at: openedAt };
  const recorded = await findFinalAsset(db, input);
  return { final_asset: recorded?.asset ?? null, line_updated_at: recorded?.line_updated_at ?? null };
}
