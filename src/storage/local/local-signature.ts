import { createHmac, timingSafeEqual } from 'node:crypto';
import { isValidBucketName, isValidObjectPath } from '../object-key.js';
import type { ObjectRef } from '../object-storage.js';
import { isValidDownloadName } from '../signed-url-options.js';

/**
 * Signed URLs of the local backend, as pure functions shared by `LocalStorage` (which signs)
 * and the HTTP route that serves the files (which verifies). The form is
 *
 *   {publicBaseUrl}/files/{bucket}/{path}?expires={unix seconds}[&download={name}]&signature={base64url}
 *
 * and the HMAC-SHA256 signature covers bucket, path, expiry and download name, so changing
 * any of them, or adding or dropping `download`, invalidates the URL.
 */

/** Where the files route is mounted under `publicBaseUrl`. */
export const LOCAL_FILES_PREFIX = '/files';

export interface LocalUrlClaims {
  ref: ObjectRef;
  /** Unix time in seconds after which the URL no longer works. */
  expires: number;
  download?: string;
}

/**
 * `LOCAL_SIGNING_SECRET` is one secret, or several separated by commas while one is rotated
 * out (`new,old`): URLs are signed with the first, and a URL signed with any of them verifies
 * until it expires, so rotating breaks none handed out.
 */
export const signingSecrets = (configured: string): string[] => configured.split(',').map((secret) => secret.trim());

export function signLocalUrl(publicBaseUrl: string, claims: LocalUrlClaims, secret: string): string {
  const { ref, expires, download } = claims;
  const path = [ref.bucket, ...ref.path.split('/')].map(encodeURIComponent).join('/');
  const query = new URLSearchParams({ expires: String(expires) });
  if (download !== undefined) query.set('download', download);
  query.set('signature', signature(signingSecrets(secret)[0] ?? secret, ref, String(expires), download));
  return `${publicBaseUrl.replace(/\/+$/, '')}${LOCAL_FILES_PREFIX}/${path}?${query.toString()}`;
}

/**
 * What the route received, decoded: `bucket` and `path` from the URL path after
 * `/files/`, the rest from the query string (absent parameters undefined).
 */
export interface LocalUrlRequest {
  bucket: string;
  path: string;
  expires?: string | undefined;
  download?: string | undefined;
  signature?: string | undefined;
}

export type LocalUrlVerdict =
  | { ok: true; ref: ObjectRef; download: string | null; expires_at: Date }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

/** Unix seconds, written the one way `signLocalUrl` writes them, so no other spelling verifies. */
const EXPIRES = /^[1-9][0-9]{0,11}$/;

export function verifyLocalUrl(request: LocalUrlRequest, secret: string, now: number = Date.now()): LocalUrlVerdict {
  const { bucket, path, expires, download, signature: given } = request;
  if (
    !isValidBucketName(bucket) ||
    !isValidObjectPath(path) ||
    expires === undefined ||
    !EXPIRES.test(expires) ||
    (download !== undefined && !isValidDownloadName(download)) ||
    given === undefined
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const ref = { bucket, path };
  const signed = signingSecrets(secret).some((candidate) => sameString(given, signature(candidate, ref, expires, download)));
  if (!signed) return { ok: false, reason: 'bad_signature' };
  const expiresAt = new Date(Number(expires) * 1000);
  if (now >= expiresAt.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, ref, download: download ?? null, expires_at: expiresAt };
}

/** A JSON array keeps the fields apart whatever characters they hold. */
function signature(secret: string, ref: ObjectRef, expires: string, download: string | undefined): string {
  const payload = JSON.stringify(['printready-local-url-v1', ref.bucket, ref.path, expires, download ?? null]);
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/** Constant time in the content; only the (public) length may show. */
function sameString(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
