/**
 * - not_found: the object is not there.
 * - no_bucket: its bucket is not there, or (Supabase cannot tell them apart) the key may not
 *   see it: storage set up wrong, not an object gone.
 * - denied: it is there but the service may not read it.
 * - conflict: a different object already holds the destination.
 * - mismatch: a copy's bytes are not the ones expected (it was removed, never left in place).
 * - transient: network, timeout, 5xx: worth retrying.
 */
export type StorageErrorKind = 'not_found' | 'no_bucket' | 'denied' | 'conflict' | 'mismatch' | 'transient';

export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly kind: StorageErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The object is not there, nor perhaps its bucket: what removing it would leave anyway. */
export const isAbsent = (error: unknown): boolean =>
  error instanceof StorageError && (error.kind === 'not_found' || error.kind === 'no_bucket');

export const missingBucket = (bucket: string): StorageError =>
  new StorageError('no_bucket', `bucket ${bucket} does not exist, or the service cannot see it`);
