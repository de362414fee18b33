import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SIGNED_URL_TTL_BOUNDS } from '../../domain/signed-url.js';
import { issueOrderUrls, orderUrlsResponseSchema, orderView, orderViewSchema } from '../../services/orders.js';
import { signedUrlRequestSchema } from '../../services/signed-urls.js';
import { principalOf } from '../plugins/auth.js';
import { requestLog } from '../plugins/logging.js';
import { bearerFailures, bearerSecurity, failure, orderParamsSchema } from '../schemas.js';

/** An order as the unit a print supplier takes: its status from its lines, and every line's URL at once. */
export const orderRoutes: FastifyPluginAsyncZod = async (app) => {
  const services = app.services;

  app.get(
    '/v1/shops/:shop_id/orders/:order_id',
    {
      schema: {
        tags: ['orders'],
        summary: "An order's status, derived from its personalized lines, with each line's status",
        description:
          'in_progress (a line still works), needs_attention (a line failed), ready_for_print (every line persisted, or closed ' +
          'by a refund, one at least persisted), closed (cancelled or withheld lines only), redacted.',
        security: bearerSecurity,
        params: orderParamsSchema,
        response: {
          ...bearerFailures,
          200: orderViewSchema.describe('The order and the same status object per line as the line route'),
          404: failure('not_found: no personalized line of this order is known (also for another shop)'),
        },
      },
    },
    async (request, reply) => orderView(services.db, principalOf(request), request.params, requestLog(request, reply)),
  );

  app.post(
    '/v1/shops/:shop_id/orders/:order_id/signed-urls',
    {
      schema: {
        tags: ['orders'],
        summary: 'Time-limited URLs of every final asset of a ready order, in one call',
        description:
          `TTL ${SIGNED_URL_TTL_BOUNDS.min}..${SIGNED_URL_TTL_BOUNDS.max} s. Cancelled and withheld lines are listed with url null. ` +
          'Anyone holding a URL can GET it until expires_at.',
        security: bearerSecurity,
        params: orderParamsSchema,
        body: signedUrlRequestSchema,
        response: {
          ...bearerFailures,
          200: orderUrlsResponseSchema.describe("The order's URLs and the assets they serve"),
          400: failure('invalid_request'),
          404: failure('not_found (also for another shop)'),
          409: failure('order_not_ready unless the order is ready_for_print (details.status says where it is); asset_missing'),
          503: failure('storage_unavailable'),
        },
      },
    },
    async (request, reply) =>
      issueOrderUrls(services, principalOf(request), request.params, request.body ?? {}, requestLog(request, reply)),
  );
};
