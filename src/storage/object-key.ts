import type { ObjectRef } from './object-storage.js';
import { isValidBucketName, isValidObjectPath } from '../domain/object-key.js';
import { StorageError } from './storage-error.js';

/**
 * Object keys are checked here, once, for every backend and before any I/O, so that no key can
 * name a file outside its bucket on disk nor a different object behind an HTTP API.
 *
 * An invalid key is reported as `StorageError('not_found')`: no object can exist under it in
 * either backend, and the storage interface has no error kind for a malformed name.
 */

// The key syntax is the domain's (a generator's hand-off is checked against it too).
export { isValidBucketName, isValidObjectPath, MAX_PATH_LENGTH } from '../domain/object-key.js';

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
