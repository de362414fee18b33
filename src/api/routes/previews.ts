import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { previewJobSchema, PREVIEW_STATUSES } from '../../domain/preview-job.js';
import { recordPreview } from '../../services/previews.js';
import { principalOf } from '../plugins/auth.js';
import { requestLog } from '../plugins/logging.js';
import { bearerFailures, bearerSecurity, failure } from '../schemas.js';

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
          ...bearerFailures,
          200: previewJobResponseSchema.describe('Unchanged: the same job was already recorded'),
          201: previewJobResponseSchema.describe('Created, or its state changed'),
          400: failure('invalid_request'),
          403: failure("forbidden: the token's scope is another shop, or a merchant's job is not in PREVIEW_BUCKET under its shop_id/"),
          409: failure('preview_conflict: another job id, or another object for a ready job'),
        },
      },
    },
    async (request, reply) => {
      const recorded = await recordPreview(app.services, principalOf(request), request.body, requestLog(request, reply));
      return reply.code(recorded.outcome === 'unchanged' ? 200 : 201).send(recorded);
    },
  );
};
