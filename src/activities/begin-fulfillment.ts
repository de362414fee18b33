import type { Db } from '../db/connect.js';
import { findFinalAsset } from '../db/repositories/final-assets.js';
import { setLineWorking } from '../db/repositories/order-lines.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { FinalAsset } from '../domain/line-status.js';

/**
 * Opens the line for work, unless it already has its final asset: a late duplicate run
 * (after Temporal forgot the workflow id) must find it and do nothing.
 */
export async function beginFulfillment(db: Db, input: FulfillmentInput): Promise<{ final_asset: FinalAsset | null }> {
  const existing = await findFinalAsset(db, input);
  if (existing) return { final_asset: existing };
  await setLineWorking(db, input, 'processing');
  return { final_asset: null };
}
