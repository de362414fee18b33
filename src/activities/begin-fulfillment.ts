import type { Db } from '../db/connect.js';
import { findFinalAsset } from '../db/repositories/final-assets.js';
import { openLineUnderOrder } from '../db/repositories/orders.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { ClosedStatus, ClosureReason, FinalAsset } from '../domain/line-status.js';
import type { LineRecorded } from './types.js';

/** What a line's start found: work to do, its asset already recorded, or the line closed. */
export interface LineBegun extends LineRecorded {
  final_asset: FinalAsset | null;
  /** Set when the line is closed: its order was cancelled or it was refunded before it started. */
  closed?: { status: ClosedStatus; reason: ClosureReason | null; changed: boolean };
  /** Set when the line's order was erased on a privacy request before it started: it never works. */
  redacted?: true;
}

/**
 * Opens the line for work under its order's lock, unless it already has its final asset (a
 * late duplicate run, after Temporal forgot the workflow id, must find it and do nothing) or
 * its order was closed first (then it is recorded closed and never works).
 */
export async function beginFulfillment(db: Db, input: FulfillmentInput): Promise<LineBegun> {
  const opening = await openLineUnderOrder(db, input);
  if (opening.state === 'redacted') return { final_asset: null, line_updated_at: opening.line_updated_at, redacted: true };
  if (opening.state === 'open') return { final_asset: null, line_updated_at: opening.line_updated_at };
  if (opening.state === 'closed') {
    const { status, reason, changed, line_updated_at } = opening;
    const asset = status === 'withheld' ? ((await findFinalAsset(db, input))?.asset ?? null) : null;
    return { final_asset: asset, line_updated_at, closed: { status, reason, changed } };
  }
  const recorded = await findFinalAsset(db, input);
  return { final_asset: recorded?.asset ?? null, line_updated_at: recorded?.line_updated_at ?? null };
}
