import { StorageApiError } from '@supabase/storage-js';
import { StorageError, type StorageErrorKind } from '../storage-error.js';

/**
 * The Supabase backend's one error classifier, by status and code, never by message text.
 *
 * Storage answers most errors with HTTP 400 and the logical status in the body:
 * `{ "statusCode": "404", "code": "NoSuchKey", "error": "not_found", "message": "Object not found" }`.
 * storage-js 2.109 raises these as `StorageApiError` with `status` (HTTP) and `statusCode`
 * (the body's `statusCode`, else its `code`, else the HTTP status); 2.112 adds `code`. Anything
 * else failed before a complete answer arrived (DNS, refused or reset connection, a body cut
 * short, a timeout) and is worth retrying.
 */
export function classifySupabaseError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const kind = error instanceof StorageApiError ? apiErrorKind(error) : 'transient';
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(kind, `${what}: ${message}`, { cause: error });
}

/** Codes that decide on their own, for bodies without a `statusCode`. */
const CODE_KINDS = new Map<string, StorageErrorKind>([
  ['NoSuchKey', 'not_found'],
  ['NoSuchBucket', 'no_bucket'],
  ['AccessDenied', 'denied'],
  ['KeyAlreadyExists', 'conflict'],
  ['ResourceAlreadyExists', 'conflict'],
  ['BucketAlreadyExists', 'conflict'],
]);

function apiErrorKind(error: StorageApiError): StorageErrorKind {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : error.statusCode;
  const byCode = CODE_KINDS.get(code) ?? CODE_KINDS.get(error.statusCode);
  if (byCode) return byCode;
  // The body's logical status when it had one, else the HTTP status.
  const status = Number(error.statusCode) || error.status;
  if (status === 404) return 'not_found';
  if (status === 401 || status === 403) return 'denied';
  if (status === 409) return 'conflict';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  // Any other refusal (an invalid request, a size limit) will not pass by retrying: someone must look.
  return 'denied';
}
