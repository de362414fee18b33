import { z } from 'zod';
import { reconcileRequestSchema } from '../domain/reconcile.js';
import { withTemporalDeadline } from '../intake/temporal-deadline.js';
import type { RequestLog } from '../logging/request-log.js';
import { startReconcile } from '../temporal/start-reconcile.js';
import type { ServiceDeps } from './deps.js';
import { ERRORS } from './errors.js';
import type { Principal } from './principal.js';

/** The route's body: the request without its shop (the path names it). */
export const reconcileBodySchema = reconcileRequestSchema
  .omit({ shop_id: true })
  .strict()
  .refine((body) => !(body.since && body.order_id), 'give since or order_id, not both')
  // No body at all is a sweep from the watermark.
  .nullable();
export type ReconcileBody = NonNullable<z.infer<typeof reconcileBodySchema>>;

export const reconcileResponseSchema = z.object({
  reconcile_id: z.string().describe('The workflow id of the reconciliation in Temporal'),
});

/**
 * An operator's reconciliation of one shop, now: a sweep (from `since`, or from the shop's
 * watermark) or one order. Only the operator token may ask, and only for a shop with an Admin
 * API token; the token itself stays with the worker, which reads it when the sweep runs.
 */
export async function requestReconcile(
  deps: Pick<ServiceDeps, 'config' | 'temporal' | 'temporalTimeoutMs'>,
  principal: Principal,
  shopId: string,
  body: ReconcileBody,
  log: RequestLog,
): Promise<z.infer<typeof reconcileResponseSchema>> {
  log.bind({ shop_id: shopId });
  if (principal.scope !== '*') throw ERRORS.forbidden('Only an operator token may reconcile a shop');
  if (!deps.config.SHOPIFY_ADMIN_TOKENS.some((entry) => entry.shop_id === shopId)) {
    throw ERRORS.notConfigured(`${shopId} has no Admin API token in SHOPIFY_ADMIN_TOKENS: it cannot be reconciled`);
  }
  const { client, taskQueue } = deps.temporal;
  const request = { shop_id: shopId, ...body };
  const reconcileId = await withTemporalDeadline(client, deps.temporalTimeoutMs, () => startReconcile(client, taskQueue, request));
  log.bind({ workflow_id: reconcileId });
  log.logger.info({ order_id: body.order_id, since: body.since }, 'reconcile requested');
  return { reconcile_id: reconcileId };
}
