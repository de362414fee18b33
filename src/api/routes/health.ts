import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkReadiness } from '../../services/readiness.js';
import { requestLog } from '../plugins/logging.js';
import { failure } from '../schemas.js';

const readyResponseSchema = z.object({
  status: z.literal('ready'),
  checks: z.object({ database: z.literal('ok'), temporal: z.literal('ok') }),
});

/** `GET /healthz` (the process answers) and `GET /readyz` (it can do its work). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database (select 1) and Temporal (GetSystemInfo), each with a short timeout',
        response: {
          200: readyResponseSchema,
          503: failure('not_ready, with each check in details.checks'),
        },
      },
    },
    async (request, reply) => checkReadiness(app.services, app.services.readinessTimeoutMs, requestLog(request, reply)),
  );
};
