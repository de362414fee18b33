import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { shopIdSchema } from '../../domain/ids.js';
import { reconcileBodySchema, reconcileResponseSchema, requestReconcile } from '../../services/reconcile.js';
import { principalOf } from '../plugins/auth.js';
import { requestLog } from '../plugins/logging.js';
import { bearerFailures, bearerSecurity, failure } from '../schemas.js';

const shopParamsSchema = z.object({ shop_id: shopIdSchema.describe('The shop, its *.myshopify.com domain') });

/** Reconciliation on demand: the orders whose webhooks never came, swept from Shopify's Admin API now. */
export const reconcileRoutes: FastifyPluginAsyncZod = async (app) => {
  const services = app.services;

  app.post(
    '/v1/shops/:shop_id/reconcile',
    {
      schema: {
        tags: ['reconciliation'],
        summary: 'Sweep the shop’s orders from the Admin API now, or reconcile one order',
        description:
          'Starts a `ReconcileShop` workflow, which feeds each order through the webhook intake: new personalized lines start, ' +
          'cancelled orders close their lines, lines already started are left alone. Operator token only.',
        security: bearerSecurity,
        params: shopParamsSchema,
        body: reconcileBodySchema,
        response: {
          ...bearerFailures,
          202: reconcileResponseSchema.describe('The reconciliation started; follow it in the Temporal UI by this id'),
          400: failure('invalid_request'),
          403: failure('forbidden: a merchant token'),
          409: failure('not_configured: no Admin API token for the shop in SHOPIFY_ADMIN_TOKENS'),
          503: failure('temporal_unavailable'),
        },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await requestReconcile(services, principalOf(request), request.params.shop_id, request.body ?? {}, requestLog(request, reply)),
        ),
  );
};
