import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { emitFulfillmentEvent } from '../../telemetry/fulfillment-events.js';
import { getOrderLineView } from '../../db/repositories/order-lines.js';
import type { LineKey } from '../../domain/ids.js';
import { lineStatusViewSchema, type LineStatusView } from '../../domain/line-status.js';
import { IMAGE_EXTENSIONS, type ImageContentType } from '../../domain/images.js';
import { SIGNED_URL_TTL_BOUNDS } from '../../domain/signed-url.js';
import { StorageError } from '../../storage/storage-error.js';
import { restartFulfillment } from '../../temporal/start-fulfillment.js';
import { retrySignal } from '../../workflows/definitions.js';
import { canAccessShop, principalOf } from '../auth.js';
import { ApiError, notFound } from '../errors.js';
import { bindLogContext } from '../logging.js';
import { bearerSecurity, failure, lineParamsSchema } from '../schemas.js';
import { withTemporalDeadline } from '../temporal.js';

const { min: MIN_SIGNED_URL_TTL, max: MAX_SIGNED_URL_TTL } = SIGNED_URL_TTL_BOUNDS;

const signedUrlRequestSchema = z
  .object({
    expires_in: z
      .number()
      .int()
      .min(MIN_SIGNED_URL_TTL)
      .max(MAX_SIGNED_URL_TTL)
      .optional()
      .describe('Seconds the URL works; default SIGNED_URL_TTL_SECONDS'),
    download: z.boolean().optional().describe('Serve as an attachment named <order_line_id>.<ext>'),
  })
  .strict()
  .nullable();

const signedUrlResponseSchema = z.object({
  url: z.string(),
  expires_at: z.string(),
  sha256: z.string(),
  size_bytes: z.number().int(),
  content_type: z.string(),
});

const retryResponseSchema = z.object({
  workflow_id: z.string(),
  status: z.literal('retry_requested'),
});

/** How a retry reached the line: its running workflow, or a new run (started by this request, or a moment ago by another). */
type RetryHandOff = { mode: 'signalled' } | { mode: 'restarted'; newRun: string | null };

/** The line, if the caller may see it; another shop's line is as absent as an unknown one. */
async function visibleLine(
  request: FastifyRequest,
  reply: FastifyReply,
  load: (key: LineKey) => Promise<LineStatusView | undefined>,
): Promise<LineStatusView> {
  const { shop_id, order_line_id } = request.params as LineKey;
  if (!canAccessShop(principalOf(request), shop_id)) throw notFound('Order line not found');
  const key = { shop_id, order_line_id };
  // One binding per request, with the workflow id when there is one: a child logger is not free.
  let line: LineStatusView | undefined;
  try {
    line = await load(key);
  } finally {
    bindLogContext(request, reply, line ? { ...key, workflow_id: line.workflow_id } : key);
  }
  if (!line) throw notFound('Order line not found');
  return line;
}

/** Status, signed URL and retry of one order line. */
export const orderLineRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, db, storage, temporal } = app.services;
  const load = (key: LineKey) => getOrderLineView(db, key);

  app.get(
    '/v1/shops/:shop_id/order-lines/:order_line_id',
    {
      schema: {
        tags: ['order lines'],
        summary: "An order line's fulfillment status",
        security: bearerSecurity,
        params: lineParamsSchema,
        response: {
          200: lineStatusViewSchema.describe('Where the line stands, with its final asset once persisted'),
          401: failure('unauthorized'),
          404: failure('not_found (also for another shop)'),
        },
      },
    },
    async (request, reply) => visibleLine(request, reply, load),
  );

  app.post(
    '/v1/shops/:shop_id/order-lines/:order_line_id/final-asset/signed-url',
    {
      schema: {
        tags: ['order lines'],
        summary: 'A time-limited URL of the final print-ready asset',
        description: `TTL ${MIN_SIGNED_URL_TTL}..${MAX_SIGNED_URL_TTL} s. Anyone holding the URL can GET it until expires_at.`,
        security: bearerSecurity,
        params: lineParamsSchema,
        body: signedUrlRequestSchema,
        response: {
          200: signedUrlResponseSchema.describe('The URL and the asset it serves'),
          400: failure('invalid_request'),
          401: failure('unauthorized'),
          404: failure('not_found (also for another shop)'),
          409: failure('asset_not_ready while processing or waiting; fulfillment_failed with reason and guidance in details'),
          503: failure('storage_unavailable'),
        },
      },
    },
    async (request, reply) => {
      const line = await visibleLine(request, reply, load);
      if (line.status === 'failed') {
        throw new ApiError(409, 'fulfillment_failed', 'The line failed; fix the cause and retry it', {
          reason_code: line.reason_code,
          reason_message: line.reason_message,
          recovery_guidance: line.recovery_guidance,
        });
      }
      const asset = line.final_asset;
      if (line.status !== 'persisted' || !asset) {
        throw new ApiError(409, 'asset_not_ready', 'The final asset is not persisted yet', { status: line.status });
      }
      const options = request.body ?? {};
      const download = options.download ? `${line.order_line_id}.${IMAGE_EXTENSIONS[asset.content_type as ImageContentType] ?? 'bin'}` : undefined;
      let signed;
      try {
        signed = await storage.signedUrl(
          { bucket: asset.bucket, path: asset.path },
          { expiresInSeconds: options.expires_in ?? config.SIGNED_URL_TTL_SECONDS, ...(download ? { download } : {}) },
        );
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        request.log.error({ err: error, kind: error.kind }, 'could not sign the final asset');
        if (error.kind === 'not_found') {
          throw new ApiError(409, 'asset_missing', 'The recorded final asset is missing from storage; an operator must restore it');
        }
        throw new ApiError(503, 'storage_unavailable', 'Storage is not available right now; retry later');
      }
      request.log.info({ expires_at: signed.expires_at, download: Boolean(download) }, 'signed URL issued');
      return {
        url: signed.url,
        expires_at: signed.expires_at,
        sha256: asset.sha256,
        size_bytes: asset.size_bytes,
        content_type: asset.content_type,
      };
    },
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
          202: retryResponseSchema.describe('The retry was handed to the workflow'),
          401: failure('unauthorized'),
          404: failure('not_found (also for another shop)'),
          409: failure('not_failed: only a failed line can be retried'),
          503: failure('temporal_unavailable'),
        },
      },
    },
    async (request, reply) => {
      const line = await visibleLine(request, reply, load);
      if (line.status !== 'failed') {
        throw new ApiError(409, 'not_failed', `The line is ${line.status}, not failed`, { status: line.status });
      }
      const { client, taskQueue } = temporal;
      const input = {
        shop_id: line.shop_id,
        order_id: line.order_id,
        order_line_id: line.order_line_id,
        personalization_id: line.personalization_id,
        webhook_id: `retry:${request.id}`.slice(0, 200),
        received_at: new Date().toISOString(),
      };
      const handOff = await withTemporalDeadline(client, app.services.temporalTimeoutMs, async (): Promise<RetryHandOff> => {
        try {
          await client.workflow.getHandle(line.workflow_id).signal(retrySignal);
          return { mode: 'signalled' };
        } catch (error) {
          // Closed (the retry window ran out) or forgotten by Temporal: a new run.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
        try {
          return { mode: 'restarted', newRun: await restartFulfillment(client, { taskQueue, previewWaitSeconds: config.PREVIEW_WAIT_SECONDS }, input) };
        } catch (error) {
          // Someone restarted it a moment ago: that run does the work, and that request reported it.
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
          return { mode: 'restarted', newRun: null };
        }
      });
      request.log.info({ mode: handOff.mode }, 'retry requested');
      // A signalled workflow reports the retry itself; a new run knows only that it starts.
      if (handOff.mode === 'restarted' && handOff.newRun) {
        const retried = { name: 'fulfillment.retry_requested' as const, attempt: 1, ...(line.reason_code ? { reason_code: line.reason_code } : {}) };
        await emitFulfillmentEvent(app.services.telemetry, { runId: handOff.newRun }, input, retried);
      }
      return reply.code(202).send({ workflow_id: line.workflow_id, status: 'retry_requested' as const });
    },
  );
};
