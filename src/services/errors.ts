import type { LineStatusView } from '../domain/line-status.js';

/**
 * Every error the API answers with, each constructed once here with its HTTP status and the
 * envelope code the contract names (as supabase/storage's error factory does). Services, the
 * intake and the API's plugins throw these; the one error handler renders any of them.
 */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_payload',
  'invalid_hmac',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'preview_conflict',
  'asset_not_ready',
  'asset_missing',
  'fulfillment_failed',
  'line_cancelled',
  'line_withheld',
  'redacted',
  'order_not_ready',
  'not_configured',
  'not_failed',
  'invalid_signature',
  'url_expired',
  'range_not_satisfiable',
  'payload_too_large',
  'unsupported_media_type',
  'request_timeout',
  'headers_too_large',
  'rate_limited',
  'temporal_unavailable',
  'storage_unavailable',
  'not_ready',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure meant for the caller: status, code, message and details are safe to show. */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly httpStatusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const BEARER_CHALLENGE = 'Bearer realm="printready"';

export const ERRORS = {
  invalidPayload: (message: string) => new AppError(400, 'invalid_payload', message),
  invalidHmac: () => new AppError(401, 'invalid_hmac', 'The X-Shopify-Hmac-Sha256 header does not match the body'),
  missingToken: () => new AppError(401, 'unauthorized', 'A bearer token is required', undefined, { 'www-authenticate': BEARER_CHALLENGE }),
  invalidToken: () =>
    new AppError(401, 'unauthorized', 'The bearer token is not valid', undefined, {
      'www-authenticate': `${BEARER_CHALLENGE}, error="invalid_token"`,
    }),
  tooManyFailedAttempts: (retryAfterSeconds: number) =>
    new AppError(
      429,
      'rate_limited',
      'Too many failed authentication attempts from this address; retry later',
      { retry_after_seconds: retryAfterSeconds },
      {
        'retry-after': String(retryAfterSeconds),
      },
    ),
  forbidden: (message: string) => new AppError(403, 'forbidden', message),
  notFound: (what = 'Not found') => new AppError(404, 'not_found', what),
  lineNotFound: () => new AppError(404, 'not_found', 'Order line not found'),
  previewConflict: (message: string, recorded: { job_id: string; status: string }) =>
    new AppError(409, 'preview_conflict', message, { job_id: recorded.job_id, status: recorded.status }),
  fulfillmentFailed: (line: Pick<LineStatusView, 'reason_code' | 'reason_message' | 'recovery_guidance'>) =>
    new AppError(409, 'fulfillment_failed', 'The line failed; fix the cause and retry it', {
      reason_code: line.reason_code,
      reason_message: line.reason_message,
      recovery_guidance: line.recovery_guidance,
    }),
  lineCancelled: () =>
    new AppError(409, 'line_cancelled', 'The line was cancelled (its order cancelled or the line refunded) before an asset was made'),
  lineWithheld: () =>
    new AppError(
      409,
      'line_withheld',
      'The line’s asset is withheld: its order was cancelled or the line refunded; no signed URL is issued for it',
    ),
  lineRedacted: () => new AppError(410, 'redacted', 'The line was erased on a privacy request; its asset no longer exists'),
  orderNotReady: (status: string) =>
    new AppError(409, 'order_not_ready', 'The order is not ready for print: not every personalized line is persisted', { status }),
  notConfigured: (what: string) => new AppError(409, 'not_configured', what),
  assetNotReady: (status: string) => new AppError(409, 'asset_not_ready', 'The final asset is not persisted yet', { status }),
  assetMissing: () => new AppError(409, 'asset_missing', 'The recorded final asset is missing from storage; an operator must restore it'),
  notFailed: (status: string) => new AppError(409, 'not_failed', `The line is ${status}, not failed`, { status }),
  invalidSignature: () => new AppError(403, 'invalid_signature', 'The URL is not valid: its signature does not match'),
  urlExpired: () => new AppError(410, 'url_expired', 'The URL has expired; ask for a new one'),
  rangeNotSatisfiable: (details: unknown, headers: Record<string, string>) =>
    new AppError(416, 'range_not_satisfiable', 'The requested range selects no byte of the object', details, headers),
  objectNotFound: () => new AppError(404, 'not_found', 'The object does not exist'),
  temporalUnavailable: () => new AppError(503, 'temporal_unavailable', 'Temporal is not reachable right now; retry later'),
  storageUnavailable: () => new AppError(503, 'storage_unavailable', 'Storage is not available right now; retry later'),
  databaseUnavailable: () => new AppError(503, 'not_ready', 'The database is not reachable right now; retry later'),
  notReady: (failed: string[], checks: unknown) =>
    new AppError(503, 'not_ready', `Not ready: ${failed.join(' and ')} unavailable`, { checks }),
  shuttingDown: () =>
    new AppError(503, 'not_ready', 'The server is shutting down; retry on another instance', undefined, { connection: 'close' }),
} as const;
