import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiDeps } from '../../src/api/app.js';
import { createLogger } from '../../src/logging/logger.js';
import { appendCapture, captureFile, registerSecrets } from './capture.js';

/** Where a test app's log lines go besides the capture folder (by default nowhere else). */
export interface TestAppLogs {
  level?: string;
  name?: string;
  write?: (line: string) => void;
}

export type TestAppDeps = Omit<ApiDeps, 'logger'> & { logs?: TestAppLogs };

/**
 * `buildApp` as every test builds it: the app is the production one; its configured secrets are
 * registered, and its log lines and responses written into the run's capture folder, for the
 * secrets scan at the end of the run (`test/faults/secrets.scan.test.ts`).
 */
export async function buildTestApp({ logs = {}, ...deps }: TestAppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  registerSecrets(
    ...config.SHOPIFY_WEBHOOK_SECRETS,
    ...config.API_TOKENS.map(({ token }) => token),
    config.SUPABASE_SERVICE_ROLE_KEY,
    config.POSTHOG_API_KEY,
    config.TEMPORAL_API_KEY,
    // One secret, or several while one is rotated out (`new,old`): each must stay out of sight.
    ...(config.LOCAL_SIGNING_SECRET?.split(',') ?? []),
    deps.localSigningSecret,
    ...config.SHOPIFY_ADMIN_TOKENS.map(({ token }) => token),
  );
  const logFile = captureFile('app.log');
  const logger = createLogger(
    { level: logs.level ?? 'info', name: logs.name ?? 'api-test' },
    {
      write: (line: string) => {
        appendCapture(logFile, line);
        logs.write?.(line);
      },
    },
  );
  const app = await buildApp({ ...deps, logger });
  const responses = captureFile('responses.log');
  app.addHook('onSend', async (request, reply, payload) => {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload.toString() : '[stream]';
    appendCapture(
      responses,
      `${JSON.stringify({ method: request.method, status: reply.statusCode, headers: reply.getHeaders(), body })}\n`,
    );
    return payload;
  });
  return app;
}
