import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { shopIdSchema, shopifyIdSchema } from '../../domain/ids.js';
import { dataRequestViewSchema, redactionViewSchema } from '../../domain/privacy.js';
import { dataRequestView, redactionView } from '../../services/privacy.js';
import { principalOf } from '../plugins/auth.js';
import { requestLog } from '../plugins/logging.js';
import { bearerFailures, bearerSecurity, failure } from '../schemas.js';

const shopParam = shopIdSchema.describe('The shop, its *.myshopify.com domain');

/** What Shopify's privacy requests recorded: a data request's report, a redaction's progress. */
export const privacyRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.services;

  app.get(
    '/v1/shops/:shop_id/data-requests/:data_request_id',
    {
      schema: {
        tags: ['privacy'],
        summary: 'What printready held for a customers/data_request',
        description:
          "The report recorded when Shopify's `customers/data_request` came: per order asked about, its personalized lines " +
          '(personalization id, status, final asset, preview object). A later redaction drops its orders from it.',
        security: bearerSecurity,
        params: z.object({ shop_id: shopParam, data_request_id: shopifyIdSchema.describe("Shopify's data_request.id") }),
        response: {
          ...bearerFailures,
          200: dataRequestViewSchema.describe('The report'),
          404: failure('not_found: not recorded (yet), or another shop'),
        },
      },
    },
    async (request, reply) => dataRequestView(db, principalOf(request), request.params, requestLog(request, reply)),
  );

  app.get(
    '/v1/shops/:shop_id/redactions/:redaction_id',
    {
      schema: {
        tags: ['privacy'],
        summary: 'A redaction: running or completed, and what it erased',
        description: 'The `redaction_id` is what `customers/redact` and `shop/redact` answered. Operator tokens (scope `*`) only.',
        security: bearerSecurity,
        params: z.object({ shop_id: shopParam, redaction_id: z.string().max(100).describe('As the webhook answered it') }),
        response: {
          ...bearerFailures,
          200: redactionViewSchema.describe('Status and counts'),
          403: failure('forbidden: a merchant token'),
          404: failure('not_found'),
        },
      },
    },
    async (request, reply) => redactionView(db, principalOf(request), request.params, requestLog(request, reply)),
  );
};
