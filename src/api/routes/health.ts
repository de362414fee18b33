import { sql } from 'kysely';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { settlesWithin } from '../../lib/settles-within.js';
import { withTemporalDeadline } from '../../intake/temporal-deadline.js';
import { ERRORS } from '../../services/errors.js';
import { failure } from '../schemas.js';

type CheckResult = 'ok' | 'unavailable';

const readyResponseSchema = z.object({
  status: z.literal('ready'),
  checks: z.object({ database: z.literal('ok'), temporal: z.literal('ok') }),
});

/** Resolves 'ok' or 'unavailable' within `timeoutMs`, whatever the check does. */
async function check(timeoutMs: number, probe: () => Promise<unknown>): Promise<CheckResult> {
  const probed = probe().then(() => 'ok' as const, () => 'unavailable' as const);
  return (await settlesWithin(probed, timeoutMs)) ? probed : 'unavailable';
}

/** `GET /healthz` (the process answers) and `GET /readyz` (it can do its work). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, temporal } = app.services;

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
    async (request) => {
      const timeoutMs = app.services.readinessTimeoutMs;
      const [database, temporalCheck] = await Promise.all([
        check(timeoutMs, () => sql`select 1`.execute(db)),
        check(timeoutMs, () =>
          withTemporalDeadline(temporal.client, timeoutMs, () => temporal.client.workflowService.getSystemInfo({})),
        ),
      ]);
      const checks = { database, temporal: temporalCheck };
      const failed = Object.entries(checks)
        .filter(([, result]) => result !== 'ok')
        .map(([name]) => name);
      if (failed.length > 0) {
        request.log.warn({ checks }, 'not ready');
        throw ERRORS.notReady(failed, checks);
      }
      return { status: 'ready' as const, checks: { database: 'ok' as const, temporal: 'ok' as const } };
    },
  );
};
