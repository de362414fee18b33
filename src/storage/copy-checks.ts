import { describeRef } from './object-key.js';
import type { ObjectInspection, ObjectRef, ObjectStorage, StreamOptions } from './object-storage.js';
import { StorageError } from './storage-error.js';

/**
 * The rules every backend's `copy` follows. The copy's identity is the SHA-256 the caller
 * expects, not the source: the source may have changed or gone since it was verified, and
 * the destination is what will be handed to a printer.
 */

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A malformed expectation could never match and would only delete good copies: the caller's bug. */
export function checkExpectedSha256(expectedSha256: string): void {
  if (!SHA256_HEX.test(expectedSha256)) {
    const got = JSON.stringify(expectedSha256.slice(0, 80));
    throw new RangeError(`expectedSha256 must be 64 lowercase hex digits, got ${got}`);
  }
}

/** The destination's inspection, or null when there is no object there yet. */
export async function inspectIfPresent(
  storage: ObjectStorage,
  ref: ObjectRef,
  options: StreamOptions,
): Promise<ObjectInspection | null> {
  try {
    return await storage.inspect(ref, options);
  } catch (error) {
    if (error instanceof StorageError && error.kind === 'not_found') return null;
    throw error;
  }
}

/**
 * An object already at the destination is this copy's result when it holds exactly the
 * expected bytes (a retry after a crash lands here); any other object there is a conflict.
 */
export function acceptExisting(existing: ObjectInspection, expectedSha256: string, to: ObjectRef): ObjectInspection {
  if (existing.sha256 === expectedSha256) return existing;
  throw new StorageError(
    'conflict',
    `${describeRef(to)} already holds a different object (sha256 ${existing.sha256}, expected ${expectedSha256})`,
  );
}

export const copyMismatch = (to: ObjectRef, expectedSha256: string, actualSha256: string): StorageError =>
  new StorageError(
    'mismatch',
    `The copy at ${describeRef(to)} has sha256 ${actualSha256}, expected ${expectedSha256}; it was removed`,
  );
