import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { RECONCILE_SHOP, type ReconcileRequest } from '../domain/reconcile.js';
import { codeSpan } from '../workflows/markdown.js';
import type { ReconcileShop } from '../workflows/reconcile-shop.js';

/** What the Temporal UI shows of a reconciliation (its input holds the shop and the request, never a token). */
export function reconcileSummary(request: ReconcileRequest): string {
  const what = request.order_id ? `order ${codeSpan(request.order_id)}` : `orders updated since ${request.since ?? 'the last sweep'}`;
  return `Reconcile ${codeSpan(request.shop_id)} against the Admin API: ${what}`;
}

/** An operator's reconciliation, now: a new workflow whose id is the `reconcile_id` the route answers. */
export async function startReconcile(client: Client, taskQueue: string, request: ReconcileRequest): Promise<string> {
  const workflowId = `reconcile:${request.shop_id}:${randomUUID()}`;
  await client.workflow.start<typeof ReconcileShop>(RECONCILE_SHOP, {
    workflowId,
    taskQueue,
    args: [request],
    staticSummary: reconcileSummary(request),
  });
  return workflowId;
}
