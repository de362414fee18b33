import { z } from 'zod';
import { shopIdSchema, shopifyIdSchema } from './ids.js';

/**
 * What a reconciliation is asked (the `ReconcileShop` workflow's input, the route's body with
 * its shop): a sweep of the orders updated since `since` (by default since the shop's last
 * completed sweep), or one order. Never a token: the activity reads it from its configuration.
 */
export const reconcileRequestSchema = z.object({
  shop_id: shopIdSchema,
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Sweep the orders updated since this instant (default: since the shop’s last completed sweep, less 5 minutes)'),
  order_id: shopifyIdSchema.optional().describe('Reconcile this one order instead of sweeping'),
});
export type ReconcileRequest = z.infer<typeof reconcileRequestSchema>;

/** What a sweep or a one-order reconcile did; `reconcile.completed` reports these counts. */
export interface ReconcileCounts {
  orders_seen: number;
  lines_started: number;
  orders_cancelled: number;
}

/** A sweep in progress, carried across `continueAsNew`: its query, its cursor, its counts and reach so far. */
export interface SweepProgress extends ReconcileCounts {
  /** The query's `updated_at:>=` instant, the same for every page of the sweep. */
  from: string;
  after: string | null;
  pages: number;
  /** The greatest `updatedAt` seen; the shop's watermark once the sweep completes. */
  updated_through: string | null;
}

export interface ReconcileSummary extends ReconcileCounts {
  reconcile_id: string;
  shop_id: string;
  kind: 'sweep' | 'order';
  updated_through: string | null;
}

export const RECONCILE_SHOP = 'ReconcileShop';

/** A schedule's id, one per configured shop; the prefix tells the worker which schedules are reconciliation's. */
export const RECONCILE_SCHEDULE_PREFIX = 'reconcile:';
export const reconcileScheduleId = (shopId: string): string => `${RECONCILE_SCHEDULE_PREFIX}${shopId}`;
