import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { createLogger, redaction, type Logger } from '../../logging/logger.js';
import { redactUrl } from '../../logging/redact-url.js';
import type { LogContext, RequestLog } from '../../logging/request-log.js';

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
  host?: string;
}

/** Fastify's request serializer without anything secret in the URL, and without headers. */
const serializers = {
  req: (req: LoggedRequest) => ({
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remote_address: req.ip,
  }),
};

/**
 * The API's logger: the given one (tests pass one writing into a buffer) or a new one at
 * `LOG_LEVEL`, with the API's serializers and redaction.
 */
export function createApiLogger(level: string, base?: Logger): Logger {
  return (base ?? createLogger({ level, name: 'api' })).child({}, { serializers, redact: redaction });
}

/** Correlation keys a request's log lines carry from here on, its final "request completed" too. */
export function bindLogContext(request: FastifyRequest, reply: FastifyReply, context: LogContext): void {
  const child = request.log.child(context);
  request.log = child;
  reply.log = child;
}

/** A request's log as the services take it. */
export const requestLog = (request: FastifyRequest, reply: FastifyReply): RequestLog => ({
  get logger() {
    return request.log;
  },
  bind: (context) => bindLogContext(request, reply, context),
});

/**
 * One log line per request instead of Fastify's two: the "request completed" line carries the
 * request (method, URL with secrets redacted) next to the status, the time and the correlation
 * keys bound while it ran. Half the log volume, and each line stands on its own.
 */
export class ApiLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(): void {
    // Folded into the "request completed" line.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
