import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { linesToWakeForPreview } from '../../db/repositories/order-lines.js';
import { recordPreviewJob } from '../../db/repositories/preview-jobs.js';
import { previewJobSchema, PREVIEW_STATUSES } from '../../domain/preview-job.js';
import { previewReadySignal } from '../../workflows/definitions.js';
import { canAccessShop, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { bindLogContext } from '../logging.js';
import { bearerSecurity, failure } from '../schemas.js';
import { withTemporalDeadline } from '../temporal.js';

const previewJobResponseSchema = z.object({
  shop_id: z.string(),
  personalization_id: z.string(),
  job_id: z.string(),
  status: z.enum(PREVIEW_STATUSES),
  bucket: z.string().nullable(),
  path: z.string().nullable(),
  content_type: z.string().nullable(),
  outcome: z.enum(['created', 'updated', 'unchanged']),
});

/** `POST /v1/previews`: the upstream generator's hand-off. */
export const previewRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, db, temporal } = app.services;

  app.post(
    '/v1/previews',
    {
      schema: {
        tags: ['previews'],
        summary: 'Record a preview job',
        description:
          'Records which stored preview a personalization_id stands for. A job moves rendering → ready | failed; ' +
          'lines waiting for it are woken at once. `bucket` defaults to PREVIEW_BUCKET.',
        security: bearerSecurity,
        body: previewJobSchema,
        response: {
          200: previewJobResponseSchema.describe('Unchanged: the same job was already recorded'),
          201: previewJobResponseSchema.describe('Created, or its state changed'),
          400: failure('invalid_request'),
          401: failure('unauthorized'),
          403: failure("forbidden: the token's scope is another shop, or a merchant's path is not under its shop_id/"),
          409: failure('preview_conflict: another job id, or another object for a ready job'),
        },
      },
    },
    async (request, reply) => {
      const job = request.body;
      const principal = principalOf(request);
      if (!canAccessShop(principal, job.shop_id)) {
        throw new ApiError(403, 'forbidden', 'This token may not write for that shop');
      }
      // The object is copied into this shop's print bucket and handed out by signed URL: a
      // merchant may only name its own shop's objects, or it could read another shop's.
      if (principal.scope !== '*' && job.path !== undefined && !job.path.startsWith(`${job.shop_id}/`)) {
        throw new ApiError(403, 'forbidden', `A merchant token may only hand off previews stored under ${job.shop_id}/`);
      }
      bindLogContext(request, reply, { shop_id: job.shop_id, personalization_id: job.personalization_id });

      const result = await recordPreviewJob(db, job, config.PREVIEW_BUCKET);
      if (result.outcome === 'conflict') {
        throw new ApiError(409, 'preview_conflict', result.message, {
          job_id: result.job.job_id,
          status: result.job.status,
        });
      }
      request.log.info({ job_id: result.job.job_id, status: result.job.status, outcome: result.outcome }, 'preview job recorded');

      // Also on a repeat: a generator re-posting is a fair nudge if an earlier signal was lost.
      if (result.job.status !== 'rendering') await wakeWaitingLines(job.shop_id, job.personalization_id);

      const { shop_id, personalization_id, job_id, status, bucket, path, content_type } = result.job;
      return reply
        .code(result.outcome === 'unchanged' ? 200 : 201)
        .send({ shop_id, personalization_id, job_id, status, bucket, path, content_type, outcome: result.outcome });

      /**
       * Lines waiting for this preview look again now instead of at their next poll. Best
       * effort: the job is recorded either way and a waiting workflow polls every minute. The
       * signal only says "look again", so a line that was not waiting loses nothing.
       */
      async function wakeWaitingLines(shopId: string, personalizationId: string): Promise<void> {
        const workflowIds = await linesToWakeForPreview(db, shopId, personalizationId);
        const outcomes = await Promise.allSettled(
          workflowIds.map((workflowId) =>
            withTemporalDeadline(temporal.client, app.services.temporalTimeoutMs, () =>
              temporal.client.workflow.getHandle(workflowId).signal(previewReadySignal),
            ),
          ),
        );
        outcomes.forEach((outcome, index) => {
          const workflow_id = workflowIds[index];
          if (outcome.status === 'fulfilled') {
            request.log.info({ workflow_id }, 'waiting line signalled: preview_ready');
          } else if (!(outcome.reason instanceof WorkflowNotFoundError)) {
            request.log.warn({ workflow_id, err: outcome.reason }, 'could not signal a waiting line; it will poll');
          }
        });
      }
    },
  );
};
