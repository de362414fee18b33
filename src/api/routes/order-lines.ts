import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SIGNED_URL_TTL_BOUNDS } from '../../domain/signed-url.js';
import { lineViewSchema } from '../../domain/line-status.js';
import { lineView } from '../../services/order-lines.js';
import { retryLine } from '../../services/retry.js';
import { issueFinalAssetUrl, signedUrlRequestSchema, signedUrlResponseSchema } from '../../services/signed-urls.js';
import { principalOf } from '../plugins/auth.js';
import { requestLog } from '../plugins/logging.js';
import { bearerFailures, bearerSecurity, failure, lineParamsSchema } from '../schemas.js';

const retryResponseSchema = z.object({
  workflow_id: z.string(),
  status: z.literal('retry_requested'),
});

/** Status, signed URL and retry of one order line. */
export const orderLineRoutes: FastifyPluginAsyncZod = async (app) => {
  const services = app.services;

  app.get(
    '/v1/shops/:shop_id/order-lines/:order_line_id',
    {
      schema: {
        tags: ['order lines'],
        summary: "An order line's fulfillment status",
        security: bearerSecurity,
        params: lineParamsSchema,
        response: {
          ...bearerFailures,
          200: lineViewSchema.describe(
            'Where the line stands, with its final asset once persisted; a redacted line keeps only shop_id, order_id, order_line_id, status and updated_at',
          ),
          404: failure('not_found (also for another shop)'),
        },
      },
    },
    async (request, reply) => lineView(services.db, principalOf(request), request.params, requestLog(request, reply)),
  );

  app.post(
    '/v1/shops/:shop_id/order-lines/:order_line_id/final-asset/signed-url',
    {
      schema: {
        tags: ['order lines'],
        summary: 'A time-limited URL of the final print-ready asset',
        description: `TTL ${SIGNED_URL_TTL_BOUNDS.min}..${SIGNED_URL_TTL_BOUNDS.max} s. Anyone holding the URL can GET it until expires_at.`,
        security: bearerSecurity,
        params: lineParamsSchema,
        body: signedUrlRequestSchema,
        response: {
          ...bearerFailures,
          200: signedUrlResponseSchema.describe('The URL and the asset it serves'),
          400: failure('invalid_request'),
          404: failure('not_found (also for another shop)'),
          409: failure(
            'asset_not_ready while processing or waiting; fulfillment_failed with reason and guidance in details; line_cancelled or line_withheld for a closed line',
          ),
          410: failure('redacted: the line was erased on a privacy request'),
          503: failure('storage_unavailable'),
        },
      },
    },
    async (request, reply) =>
      issueFinalAssetUrl(services, principalOf(request), request.params, request.body ?? {}, requestLog(request, reply)),
  );

  app.post(
    '/v1/shops/:shop_id/order-lines/:order_line_id/retry',
    {
      schema: {
        tags: ['order lines'],
        summary: 'Re-run a failed line after the cause was fixed',
        description:
          'Signals `retry` to the running workflow; if it has closed (or Temporal forgot it), starts a new run. ' +
          'The database still guarantees a single final asset.',
        security: bearerSecurity,
        params: lineParamsSchema,
        response: {
          ...bearerFailures,
          202: retryResponseSchema.describe('The retry was handed to the workflow'),
          404: failure('not_found (also for another shop)'),
          409: failure('not_failed: only a failed line can be retried (not a cancelled or withheld one either)'),
          503: failure('temporal_unavailable'),
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await retryLine(services, principalOf(request), request.params, request.id, requestLog(request, reply))),
  );
};
