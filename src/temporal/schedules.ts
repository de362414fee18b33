import { ScheduleAlreadyRunning, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { RECONCILE_SCHEDULE_PREFIX, RECONCILE_SHOP, reconcileScheduleId } from '../domain/reconcile.js';
import type { ReconcileShop } from '../workflows/reconcile-shop.js';
import { reconcileSummary } from './start-reconcile.js';

export interface ReconcileSchedules {
  taskQueue: string;
  /** The shops of `SHOPIFY_ADMIN_TOKENS`. */
  shops: readonly string[];
  /** `RECONCILE_INTERVAL_MINUTES`; 0 removes every reconciliation schedule. */
  intervalMinutes: number;
}

export interface SchedulesSynced {
  created: string[];
  updated: string[];
  removed: string[];
}

/**
 * Makes the namespace's reconciliation schedules match the configuration, at each worker start:
 * one `reconcile:<shop_id>` per shop, every `intervalMinutes`, a sweep skipped while the previous
 * one still runs; schedules of shops no longer configured are deleted. An operator's pause is kept.
 */
export async function syncReconcileSchedules(
  client: Client,
  { taskQueue, shops, intervalMinutes }: ReconcileSchedules,
): Promise<SchedulesSynced> {
  const wanted = intervalMinutes > 0 ? shops : [];
  const synced: SchedulesSynced = { created: [], updated: [], removed: [] };
  const spec: ScheduleSpec = { intervals: [{ every: `${intervalMinutes}m` }] };
  for (const shopId of wanted) {
    const scheduleId = reconcileScheduleId(shopId);
    const action: ScheduleOptionsStartWorkflowAction<typeof ReconcileShop> = {
      type: 'startWorkflow',
      workflowType: RECONCILE_SHOP,
      workflowId: scheduleId,
      taskQueue,
      args: [{ shop_id: shopId }],
      staticSummary: reconcileSummary({ shop_id: shopId }),
    };
    try {
      await client.schedule.create({ scheduleId, spec, action, policies: { overlap: 'SKIP' } });
      synced.created.push(scheduleId);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await client.schedule.getHandle(scheduleId).update((previous) => ({
        ...previous,
        spec,
        action,
        policies: { ...previous.policies, overlap: 'SKIP' },
        state: { paused: previous.state.paused, note: previous.state.note },
      }));
      synced.updated.push(scheduleId);
    }
  }
  const keep = new Set(wanted.map(reconcileScheduleId));
  for await (const schedule of client.schedule.list()) {
    if (!schedule.scheduleId.startsWith(RECONCILE_SCHEDULE_PREFIX) || keep.has(schedule.scheduleId)) continue;
    await client.schedule.getHandle(schedule.scheduleId).delete();
    synced.removed.push(schedule.scheduleId);
  }
  return synced;
}
