import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { vi } from 'vitest';
import type { ApiDeps } from '../../src/api/app.js';
import { appendCapture, captureFile, registerSecrets } from './capture.js';

/**
 * Runs before every test file: every app built with `buildApp`, in any test, has its log lines
 * and its responses captured, and its configured secrets registered, for the secrets scan at
 * the end of the run (`test/faults/secrets.scan.test.ts`). The app itself is unchanged.
 */
vi.mock('../../src/api/app.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/api/app.js')>();
  return {
    ...original,
    buildApp: async (deps: ApiDeps): Promise<FastifyInstance> => {
      const { config } = deps;
      registerSecrets(
        ...config.SHOPIFY_WEBHOOK_SECRETS,
        ...config.API_TOKENS.map(({ token }) => token),
        config.SUPABASE_SERVICE_ROLE_KEY,
        config.POSTHOG_API_KEY,
        config.TEMPORAL_API_KEY,
        config.LOCAL_SIGNING_SECRET,
        deps.localSigningSecret,
      );
      const app = await original.buildApp(deps);
      teeLogStream(app);
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
    },
  };
});

const TEED = Symbol('teed into the capture folder');

/** The app's pino destination also writes every line into a capture file (once per destination). */
function teeLogStream(app: FastifyInstance): void {
  const stream = (app.log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | ({ write(line: string): unknown } & { [TEED]?: boolean })
    | undefined;
  if (!stream || stream[TEED]) return;
  const file = captureFile('app.log');
  const write = stream.write.bind(stream);
  stream.write = (line: string) => {
    appendCapture(file, line);
    return write(line);
  };
  stream[TEED] = true;
}
