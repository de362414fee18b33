import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createIntake } from '../intake/intake.js';
import { ERRORS } from '../services/errors.js';
import { localSigningSecret } from '../storage/local/signing-secret.js';
import type { ApiDeps, ApiServices } from './deps.js';
import { bearerAuth, DEFAULT_FAILED_AUTH_LIMIT } from './plugins/auth.js';
import { clientErrorHandler, errorHandler, notFoundHandler } from './plugins/errors.js';
import { ApiLogController, createApiLogger } from './plugins/logging.js';
import { metricsPlugin } from './plugins/metrics.js';
import { docsPageOptions, openApiOptions } from './routes/docs.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { orderLineRoutes } from './routes/order-lines.js';
import { orderRoutes } from './routes/orders.js';
import { previewRoutes } from './routes/previews.js';
import { privacyRoutes } from './routes/privacy.js';
import { reconcileRoutes } from './routes/reconcile.js';
import { webhookRoutes } from './routes/webhooks.js';

export type { ApiDeps } from './deps.js';

/** JSON bodies of the `/v1` routes are small (a preview job is < 2 KiB); the webhook has its own 2 MiB. */
export const API_BODY_LIMIT = 64 * 1024;

/** A caller's `X-Request-Id` is kept when it is sane, otherwise a new UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

const genReqId = (req: { headers: Record<string, string | string[] | undefined> }): string => {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
};

/**
 * The HTTP API, built from injected dependencies: one plugin per concern, zod schemas on every
 * route (validation, serialization and the API reference at `/docs`), one error handler and
 * one not-found handler for every failure.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const temporalTimeoutMs = deps.temporalTimeoutMs ?? 3_000;
  const services: ApiServices = {
    config: deps.config,
    db: deps.db,
    storage: deps.storage,
    temporal: deps.temporal,
    telemetry: deps.telemetry,
    temporalTimeoutMs,
    readinessTimeoutMs: deps.readinessTimeoutMs ?? 2_000,
    intake: createIntake({
      db: deps.db,
      temporal: deps.temporal,
      telemetry: deps.telemetry,
      temporalTimeoutMs,
      previewWaitSeconds: deps.config.PREVIEW_WAIT_SECONDS,
      startCapacity: deps.startCapacity ?? 256,
      config: deps.config,
    }),
    now: deps.now ?? Date.now,
  };

  const requestTimeoutMs = deps.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    loggerInstance: createApiLogger(deps.config.LOG_LEVEL, deps.logger),
    logController: new ApiLogController(),
    genReqId,
    bodyLimit: API_BODY_LIMIT,
    // Slow-loris guard; a large download is not affected (this bounds receiving the request).
    requestTimeout: requestTimeoutMs,
    // Node looks for requests over time only this often (30 s by default, which would let one
    // take up to twice the timeout).
    http: { connectionsCheckingInterval: Math.max(requestTimeoutMs / 10, 50) },
    // Signed file paths are up to 1024 characters, more than the router's default of 100.
    routerOptions: { maxParamLength: 2048 },
    // Errors the router raises before any route runs (a malformed %-escape) get the envelope too.
    frameworkErrors: (error, request, reply) => {
      errorHandler(error, request, reply);
    },
    // And so do requests the HTTP parser refuses before there is a request at all.
    clientErrorHandler,
    // Fastify's own 503 while closing has its own body; the hook below answers with the envelope.
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorate('services', services);
  app.decorateRequest('principal', null);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // A request in flight when closing began is answered, then its connection closed: a
  // keep-alive client would otherwise hold the stop until its idle timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) throw ERRORS.shuttingDown();
  });

  // Every body the API takes is JSON: read as JSON whatever the Content-Type says, or if it says
  // nothing (curl -d sends form-urlencoded, fetch with a string sends text/plain). Bearer tokens,
  // not cookies, authorize it, so a browser's cross-site form post gains nothing. An empty body
  // is no body.
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', '*'], { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) {
      done(null, undefined);
      return;
    }
    return defaultJsonParser(request, body as string, done);
  });

  // Before the routes: the document lists every route registered after it.
  await app.register(fastifySwagger, openApiOptions);
  await app.register(fastifySwaggerUi, docsPageOptions);
  await app.register(metricsPlugin, { db: deps.db, workerMetricsUrls: deps.config.WORKER_APP_METRICS_URLS });
  await app.register(healthRoutes);
  await app.register(webhookRoutes);
  await app.register(async (v1) => {
    await bearerAuth(v1, { tokens: deps.config.API_TOKENS, failedAttempts: deps.failedAuthLimit ?? DEFAULT_FAILED_AUTH_LIMIT });
    await v1.register(previewRoutes);
    await v1.register(orderLineRoutes);
    await v1.register(privacyRoutes);
    await v1.register(orderRoutes);
    await v1.register(reconcileRoutes);
  });
  if (deps.storage.kind === 'local') {
    // The same secret `createStorage` signs with, unless the caller built storage with its own.
    const signingSecret = deps.localSigningSecret ?? (await localSigningSecret(deps.config.DATA_DIR, deps.config.LOCAL_SIGNING_SECRET));
    await app.register(fileRoutes, { source: deps.storage, signingSecret, now: services.now });
  }
  return app as unknown as FastifyInstance;
}
