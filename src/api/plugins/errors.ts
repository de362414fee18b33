import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isDatabaseUnavailable } from '../../db/errors.js';
import { redactUrl } from '../../logging/redact-url.js';
import { AppError, ERROR_CODES, ERRORS, type ErrorCode } from '../../services/errors.js';

/** The one failure body: `{ error: { code, message, details } }`, `details` null when there is nothing more. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.unknown().describe('What the caller can act on (issues, reason, guidance), or null'),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * Per-route override of what a schema validation failure answers (the webhook route says
 * `invalid_payload`, the contract's word; the files route refuses a mangled URL like a bad
 * signature). Set as `config: { validationError: { status?, code } }`.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    validationError?: { status?: number; code: ErrorCode; message?: string };
  }
}

/** Fastify's and Node's own client errors, by the status they give them. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

interface Issue {
  path: string;
  message: string;
}

/**
 * Maps any failure once into status + body: an `AppError` as it says, schema validation and
 * Fastify's own client errors by their status, anything else a 500 that leaks no stack or
 * internal message.
 */
export function toErrorResponse(
  error: unknown,
  request: FastifyRequest,
): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof AppError) {
    return {
      status: error.httpStatusCode,
      body: envelope(error.code, error.message, error.details),
      headers: error.headers,
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as FastifyError).validationContext;
    const issues: Issue[] = error.validation.map((issue) => ({
      path: [context, ...issue.instancePath.split('/').filter(Boolean)].filter(Boolean).join('.'),
      message: issue.message ?? 'is invalid',
    }));
    // A malformed id in the URL names nothing that can exist: not found, like an unknown one.
    if (context === 'params') return { status: 404, body: envelope('not_found', 'Not found'), headers: {} };
    const override = request.routeOptions.config.validationError;
    if (override) {
      const status = override.status ?? 400;
      const message = override.message ?? `Invalid ${context ?? 'request'}`;
      return { status, body: envelope(override.code, message, status === 400 ? { issues } : undefined), headers: {} };
    }
    return { status: 400, body: envelope('invalid_request', `Invalid ${context ?? 'request'}`, { issues }), headers: {} };
  }
  if (isResponseSerializationError(error)) {
    return { status: 500, body: envelope('internal_error', 'Internal error'), headers: {} };
  }
  if (isDatabaseUnavailable(error)) return toErrorResponse(ERRORS.databaseUnavailable(), request);
  const fastifyError = error as Partial<FastifyError> | undefined;
  // Only Fastify's own client errors (FST_* codes, and the JSON parser's SyntaxError) speak for
  // themselves; any other error with a status is someone else's internals: a 500.
  const fromFastify = (typeof fastifyError?.code === 'string' && fastifyError.code.startsWith('FST_')) || error instanceof SyntaxError;
  const status = fromFastify && typeof fastifyError?.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'invalid_request';
    const override = request.routeOptions.config.validationError;
    const routeCode = override && (override.status ?? 400) === 400 ? override.code : undefined;
    // Fastify's client-error messages (bad JSON, too large, wrong content type) are safe to show.
    const message = status === 413 ? 'Request body is too large' : redactUrl(fastifyError?.message ?? 'Bad request');
    return { status, body: envelope(status === 400 && routeCode ? routeCode : code, message), headers: {} };
  }
  return { status: 500, body: envelope('internal_error', 'Internal error'), headers: {} };
}

function envelope(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, details: details ?? null } };
}

/** The app's one error handler. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { status, body, headers } = toErrorResponse(error, request);
  if (status >= 500) {
    request.log.error({ err: error, code: body.error.code }, 'request failed');
  } else {
    request.log.info({ code: body.error.code, status }, body.error.message);
  }
  // A string payload skips the route's response serializer: the envelope is always sent as is.
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** What Node's HTTP parser refuses before Fastify has a request, by its error code; anything else is a 400. */
const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'Request headers are too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: 'Request is too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time' },
};
const MALFORMED = { status: 400, message: 'Malformed HTTP request' };

/**
 * Fastify's `clientErrorHandler`: a request the HTTP parser refused (headers over 16 KiB, a
 * malformed request, the request timeout) gets the envelope too, then the connection closes,
 * as Fastify's default does with a body of its own. Logged at info like every refused request,
 * though Fastify's default keeps these at trace.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message } = (error.code !== undefined ? CLIENT_ERRORS[error.code] : undefined) ?? MALFORMED;
  const code = CODE_BY_STATUS[status] ?? 'invalid_request';
  this.log.info({ code, status, parser_error: error.code, remote_address: socket.remoteAddress }, message);
  // Node's own rule: never write into a response already under way on this connection (a
  // malformed pipelined request behind a download would splice into the file's bytes).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(envelope(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The app's one not-found handler. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return errorHandler(
    ERRORS.notFound(`Route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)} not found`),
    request,
    reply,
  );
}
