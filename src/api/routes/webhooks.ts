import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { shopIdSchema } from '../../domain/ids.js';
import { intakeAnswerSchema } from '../../intake/intake.js';
import { hasShopifyHmacShape, verifyShopifyHmac, WEBHOOK_BODY_LIMIT } from '../../intake/shopify.js';
import { ERRORS } from '../../services/errors.js';
import { requestLog } from '../plugins/logging.js';
import { failure } from '../schemas.js';

const headersSchema = z.looseObject({
  'x-shopify-hmac-sha256': z.string().describe('base64 HMAC-SHA256 of the raw body with the app secret'),
  'x-shopify-topic': z
    .string()
    .min(1)
    .max(100)
    .describe('orders/create and orders/paid start work; orders/cancelled and refunds/create close lines; other topics are acknowledged'),
  'x-shopify-shop-domain': shopIdSchema.describe('The shop: becomes shop_id'),
  'x-shopify-webhook-id': z.string().max(200).optional().describe('Per delivery; recorded with the workflow'),
});

const rawBody = (request: FastifyRequest): Buffer => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));

/**
 * `POST /webhooks/shopify`. Its own content-type parser keeps the raw bytes (any content
 * type) so the HMAC is checked over exactly what Shopify signed, before anything is parsed.
 */
export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, intake } = app.services;
  const secrets = config.SHOPIFY_WEBHOOK_SECRETS;
  if (secrets.length === 0) app.log.warn('SHOPIFY_WEBHOOK_SECRETS is empty: every webhook delivery will be refused with 401');

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  // Before the body is read: a sender that cannot even sign does not get 2 MiB buffered.
  app.addHook('onRequest', async (request) => {
    if (!hasShopifyHmacShape(request.headers['x-shopify-hmac-sha256'])) throw ERRORS.invalidHmac();
  });
  // preValidation: after the bytes are read, before the headers are validated or anything parsed.
  app.addHook('preValidation', async (request) => {
    const header = request.headers['x-shopify-hmac-sha256'];
    if (!verifyShopifyHmac(rawBody(request), typeof header === 'string' ? header : undefined, secrets)) throw ERRORS.invalidHmac();
  });

  app.post(
    '/webhooks/shopify',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      config: { validationError: { code: 'invalid_payload' } },
      schema: {
        tags: ['webhooks'],
        summary: 'Shopify order webhook',
        description:
          'Verifies the HMAC over the raw body against every secret in SHOPIFY_WEBHOOK_SECRETS, then starts one ' +
          '`FulfillOrderLine` workflow per personalized line item (idempotent: a redelivery answers `duplicate`); lines whose ' +
          'order was cancelled or which were refunded in full before the order came are `ignored` (`order_cancelled`, ' +
          '`line_refunded`). `orders/cancelled` closes every personalized line of the order and `refunds/create` each line ' +
          'its refunds now cover in full: a line not yet persisted ends `cancelled`, a persisted one `withheld`; the answer ' +
          'lists them in `closed` once that is recorded (a redelivery answers the same and changes nothing). ' +
          `Body limit ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MiB.`,
        security: [{ shopifyHmac: [] }],
        headers: headersSchema,
        body: z.any().describe('The Shopify order (JSON, any content type), verified byte for byte; ids may exceed 2^53'),
        response: {
          200: intakeAnswerSchema.describe('Lines started or already running (duplicate), and lines ignored with the reason'),
          400: failure('invalid_payload: not JSON, not an order (or cancelled order, or refund), or a missing/invalid Shopify header'),
          401: failure('invalid_hmac'),
          413: failure('payload_too_large'),
          503: failure('temporal_unavailable, or not_ready (the database, for a closure): Shopify retries the delivery'),
        },
      },
    },
    async (request, reply) =>
      intake.receiveDelivery(
        {
          shop_id: request.headers['x-shopify-shop-domain'],
          topic: request.headers['x-shopify-topic'],
          webhook_id: request.headers['x-shopify-webhook-id'] ?? '',
          received_at: new Date().toISOString(),
          body: rawBody(request),
        },
        requestLog(request, reply),
      ),
  );
};
