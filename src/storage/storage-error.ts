/**
 * - not_found: the object or bucket is not there.
 * - denied: it is there but the service may not read it.
 * - conflict: a different object already holds the destination.
 * - mismatch: a copy's bytes are not the ones expected (it was removed, never left in place).
 * - transient: network, timeout, 5xx: worth retrying.
 */
export type StorageErrorKind = 'not_found' | 'denied' | 'conflict' | 'mismatch' | 'transient';

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
