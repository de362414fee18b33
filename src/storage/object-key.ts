import type { ObjectRef } from './object-storage.js';
import { StorageError } from './storage-error.js';

/**
 * Object keys are checked here, once, for every backend and before any I/O, so that no key can
 * name a file outside its bucket on disk nor a different object behind an HTTP API.
 *
 * An invalid key is reported as `StorageError('not_found')`: no object can exist under it in
 * either backend, and the storage interface has no error kind for a malformed name.
 */

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Supabase Storage's key alphabet without `?`: storage-js puts paths into request URLs
 * unencoded, so a `?` would silently start a query string and address a different object.
 */
const PATH_CHARACTERS = /^[A-Za-z0-9_/!.*'() &$=@;:+,-]+$/;

export const MAX_PATH_LENGTH = 1024;

export function isValidBucketName(bucket: string): boolean {
  return typeof bucket === 'string' && BUCKET_NAME.test(bucket);
}

/** Relative, `/`-separated, no empty, `.` or `..` segments, only characters every backend keeps as they are. */
export function isValidObjectPath(path: string): boolean {
  return (
    typeof path === 'string' &&
    path.length <= MAX_PATH_LENGTH &&
    PATH_CHARACTERS.test(path) &&
    path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}

export function checkBucketName(bucket: string): void {
  if (!isValidBucketName(bucket)) throw new StorageError('not_found', `Invalid bucket name ${quote(bucket)}`);
}

export function checkObjectRef(ref: ObjectRef): void {
  checkBucketName(ref.bucket);
  if (!isValidObjectPath(ref.path)) {
    throw new StorageError('not_found', `Invalid object path ${quote(ref.path)} in bucket ${ref.bucket}`);
  }
}

/** Invalid names come from outside: show them escaped and short in messages and logs. */
const quote = (value: unknown): string => JSON.stringify(String(value).slice(0, 80));

/** `bucket/path`, for messages. Only call it with a checked ref. */
export const describeRef = (ref: ObjectRef): string => `${ref.bucket}/${ref.path}`;
