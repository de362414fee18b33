import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isDatabaseUnavailable } from '../../db/errors.js';
import { registerOrderLines } from '../../db/repositories/order-lines.js';
import type { FulfillmentInput } from '../../domain/fulfillment-input.js';
import { shopIdSchema } from '../../domain/ids.js';
import { groupCommit } from '../../lib/group-commit.js';
import { settlesWithin } from '../../lib/settles-within.js';
import { startFulfillment, type StartOutcome } from '../../temporal/start-fulfillment.js';
import { ApiError } from '../errors.js';
import { bindLogContext } from '../logging.js';
import { failure } from '../schemas.js';
import { ignoredReasonSchema, InvalidPayloadError, ORDER_TOPICS, parseOrderPayload, verifyShopifyHmac, WEBHOOK_BODY_LIMIT } from '../shopify.js';
import { AdmissionTimeoutError } from '../start-admission.js';
import { temporalUnavailable, withTemporalDeadline } from '../temporal.js';

const headersSchema = z.looseObject({
  'x-shopify-hmac-sha256': z.string().describe('base64 HMAC-SHA256 of the raw body with the app secret'),
  'x-shopify-topic': z.string().min(1).max(100).describe('orders/create and orders/paid start work; other topics are acknowledged'),
  'x-shopify-shop-domain': shopIdSchema.describe('The shop: becomes shop_id'),
  'x-shopify-webhook-id': z.string().max(200).optional().describe('Per delivery; recorded with the workflow'),
});

const webhookResponseSchema = z.object({
  accepted: z.array(
    z.object({
      order_line_id: z.string(),
      workflow_id: z.string(),
      status: z.enum(['started', 'duplicate']),
    }),
  ),
  ignored: z.array(z.object({ order_line_id: z.string(), reason: ignoredReasonSchema })),
});

/** The least a registration is waited for when the starts used up the budget. */
const MIN_REGISTRATION_WAIT_MS = 500;

const rawBody = (request: FastifyRequest): Buffer => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));

/**
 * `POST /webhooks/shopify`. Its own content-type parser keeps the raw bytes (any content
 * type) so the HMAC is checked over exactly what Shopify signed, before anything is parsed.
 */
export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, db, temporal, startAdmission, temporalTimeoutMs } = app.services;
  // Deliveries arriving while an insert runs share the next one, instead of a statement each.
  const insertTakenLines = groupCommit((lines: FulfillmentInput[]) => registerOrderLines(db, lines));

  /**
   * All starts at once, all settled before answering (unless Temporal overruns the deadline):
   * no start is left running behind a 503. Each line Temporal took goes into `taken`, also
   * when others failed.
   */
  function startAll(inputs: FulfillmentInput[], deadline: number, taken: FulfillmentInput[]): Promise<StartOutcome[]> {
    return withTemporalDeadline(temporal.client, deadline - Date.now(), async () => {
      const outcomes = await Promise.allSettled(
        inputs.map(async (input) => {
          const outcome = await startFulfillment(temporal.client, { taskQueue: temporal.taskQueue, previewWaitSeconds: config.PREVIEW_WAIT_SECONDS }, input);
          taken.push(input);
          return outcome;
        }),
      );
      return outcomes.map((outcome) => {
        if (outcome.status === 'rejected') throw outcome.reason;
        return outcome.value;
      });
    });
  }

  /**
   * Registers the lines Temporal took, and only those: a line whose start failed would read
   * `processing` with nothing running, for good if Shopify stopped redelivering. It lets the
   * status route know the lines once Shopify has its answer, and is best effort within the
   * delivery's budget: each workflow registers its own line too, so a database that fails or
   * stalls neither turns the delivery away nor holds its answer.
   */
  async function register(request: FastifyRequest, lines: FulfillmentInput[], deadline: number): Promise<void> {
    if (lines.length === 0) return;
    const context = { lines: lines.length };
    // Once the delivery is answered, lines still waiting for their insert are left to their workflows.
    const answered = new AbortController();
    const registration = insertTakenLines(lines, answered.signal).catch((error: unknown) => {
      const level = isDatabaseUnavailable(error) ? 'warn' : 'error';
      request.log[level]({ ...context, err: error }, 'lines not registered at intake; their workflows register them');
    });
    if (!(await settlesWithin(registration, Math.max(deadline - Date.now(), MIN_REGISTRATION_WAIT_MS)))) {
      answered.abort();
      request.log.warn(context, 'database slow: answered before the lines were registered; their workflows register them');
    }
  }

  const secrets = config.SHOPIFY_WEBHOOK_SECRETS;
  if (secrets.length === 0) app.log.warn('SHOPIFY_WEBHOOK_SECRETS is empty: every webhook delivery will be refused with 401');

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  // preValidation: after the bytes are read, before the headers are validated or anything parsed.
  app.addHook('preValidation', async (request) => {
    const header = request.headers['x-shopify-hmac-sha256'];
    if (!verifyShopifyHmac(rawBody(request), typeof header === 'string' ? header : undefined, secrets)) {
      throw new ApiError(401, 'invalid_hmac', 'The X-Shopify-Hmac-Sha256 header does not match the body');
    }
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
          '`FulfillOrderLine` workflow per personalized line item (idempotent: a redelivery answers `duplicate`). ' +
          `Body limit ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MiB.`,
        security: [{ shopifyHmac: [] }],
        headers: headersSchema,
        body: z.any().describe('The Shopify order (JSON, any content type), verified byte for byte; ids may exceed 2^53'),
        response: {
          200: webhookResponseSchema.describe('Lines started or already running (duplicate), and lines ignored with the reason'),
          400: failure('invalid_payload: not JSON, not an order, or a missing/invalid Shopify header'),
          401: failure('invalid_hmac'),
          413: failure('payload_too_large'),
          503: failure('temporal_unavailable: Shopify retries the delivery'),
        },
      },
    },
    async (request, reply) => {
      const receivedAt = new Date().toISOString();
      const shopId = request.headers['x-shopify-shop-domain'];
      const topic = request.headers['x-shopify-topic'];
      const webhookId = request.headers['x-shopify-webhook-id'] ?? '';
      bindLogContext(request, reply, { shop_id: shopId, webhook_id: webhookId });

      if (!ORDER_TOPICS.has(topic)) {
        request.log.info({ topic }, 'webhook topic ignored');
        return { accepted: [], ignored: [] };
      }

      let order;
      try {
        order = parseOrderPayload(rawBody(request));
      } catch (error) {
        if (error instanceof InvalidPayloadError) throw new ApiError(400, 'invalid_payload', error.message);
        throw error;
      }
      bindLogContext(request, reply, { order_id: order.order_id });

      const inputs: FulfillmentInput[] = order.personalized.map((line) => ({
        shop_id: shopId,
        order_id: order.order_id,
        order_line_id: line.order_line_id,
        personalization_id: line.personalization_id,
        webhook_id: webhookId,
        received_at: receivedAt,
      }));
      // Admitted as a whole within half the budget (Temporal keeps up, or Shopify retries);
      // the starts then get what is left of it, and the registration after them too, its
      // slots already free for the next delivery.
      const deadline = Date.now() + temporalTimeoutMs;
      const taken: FulfillmentInput[] = [];
      let accepted: StartOutcome[] = [];
      try {
        if (inputs.length > 0) {
          accepted = await startAdmission
            .run(inputs.length, temporalTimeoutMs / 2, () => startAll(inputs, deadline, taken))
            .catch((error: unknown) => {
              if (!(error instanceof AdmissionTimeoutError)) throw error;
              request.log.warn({ lines: inputs.length }, 'intake saturated: delivery turned away for Shopify to retry');
              throw temporalUnavailable();
            });
        }
      } finally {
        // Also when some starts failed: the lines Temporal did take are running.
        await register(request, [...taken], deadline);
      }

      accepted.forEach((outcome, index) => {
        request.log.info(
          { order_line_id: inputs[index]!.order_line_id, workflow_id: outcome.workflow_id, status: outcome.status },
          outcome.status === 'started' ? 'fulfillment started' : 'fulfillment already started (duplicate delivery)',
        );
      });
      for (const line of order.ignored) {
        request.log.info({ order_line_id: line.order_line_id, reason: line.reason }, 'line item ignored');
      }
      return {
        accepted: accepted.map((outcome, index) => ({
          order_line_id: inputs[index]!.order_line_id,
          workflow_id: outcome.workflow_id,
          status: outcome.status,
        })),
        ignored: order.ignored,
      };
    },
  );
};
