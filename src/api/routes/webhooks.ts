import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { shopIdSchema } from '../../domain/ids.js';
import { intakeAnswerSchema } from '../../intake/order-admission.js';
import { dataRequestAnswerSchema, redactionAnswerSchema } from '../../intake/privacy-requests.js';
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
    .describe(
      'orders/create and orders/paid start work; orders/cancelled and refunds/create close lines; customers/data_request, ' +
        'customers/redact and shop/redact are recorded; other topics are acknowledged',
    ),
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
          'The privacy topics: `customers/data_request` records a report of what printready holds for the orders named and ' +
          "answers `{ data_request_id }` (Shopify's `data_request.id`, for `GET /v1/shops/:shop_id/data-requests/:id`); " +
          '`customers/redact` and `shop/redact` record the redaction, start the `RedactShopData` workflow and answer ' +
          '`{ redaction_id }`, the same on every redelivery. A line whose order was redacted before it came is `ignored` ' +
          "(`redacted`). The body's `shop_domain` must be the header's shop; email and phone are never kept. " +
          `Body limit ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MiB.`,
        security: [{ shopifyHmac: [] }],
        headers: headersSchema,
        body: z.any().describe('The Shopify order (JSON, any content type), verified byte for byte; ids may exceed 2^53'),
        response: {
          200: z
            .union([intakeAnswerSchema, dataRequestAnswerSchema, redactionAnswerSchema])
            .describe(
              'Order topics: lines started or already running (duplicate), and lines ignored with the reason. ' +
                'customers/data_request: { data_request_id }. customers/redact, shop/redact: { redaction_id }',
            ),
          400: failure(
            'invalid_payload: not JSON, not an order (or cancelled order, refund or privacy request), or a missing/invalid Shopify header',
          ),
          401: failure('invalid_hmac'),
          413: failure('payload_too_large'),
          503: failure('temporal_unavailable, or not_ready (the database, for a closure or privacy request): Shopify retries the delivery'),
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
