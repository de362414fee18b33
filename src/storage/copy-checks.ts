import { checkObjectRef, describeRef } from './object-key.js';
import {
  IMAGE_TYPES,
  type ExpectedObject,
  type ObjectFolder,
  type ObjectInspection,
  type ObjectRef,
  type ObjectStorage,
  type StreamOptions,
} from './object-storage.js';
import { StorageError } from './storage-error.js';

/**
 * The rules every backend's `copy` follows. The copy's identity is the SHA-256 the caller
 * expects, not the source: the source may have changed or gone since it was verified, and
 * the destination is what will be handed to a printer.
 */

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A copy's arguments, checked before any I/O: bad keys are not_found, a bad expectation a RangeError. */
export function checkCopyArguments(from: ObjectRef, to: ObjectRef, expected: ExpectedObject): void {
  checkObjectRef(from);
  checkObjectRef(to);
  checkExpected(expected);
}

/** The object `name` would be in `into`, checked as every key is; a name is one segment. */
export function placedRef({ bucket, folder }: ObjectFolder, name: string): ObjectRef {
  const ref = { bucket, path: `${folder}/${name}` };
  checkObjectRef(ref);
  if (name.includes('/')) throw new RangeError(`A copy is placed in its folder, not below it: ${describeRef(ref)}`);
  return ref;
}

/** A malformed expectation could never match and would only delete good copies: the caller's bug. */
function checkExpected({ sha256, content_type }: ExpectedObject): void {
  if (!SHA256_HEX.test(sha256)) {
    throw new RangeError(`expected.sha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha256.slice(0, 80))}`);
  }
  if (!(IMAGE_TYPES as readonly string[]).includes(content_type)) {
    throw new RangeError(
      `expected.content_type must be one of ${IMAGE_TYPES.join(', ')}, got ${JSON.stringify(content_type.slice(0, 80))}`,
    );
  }
}

/** A fresh copy's own bytes must be the expected ones, of the expected type; else it is removed. */
export function checkCopied(copied: ObjectInspection, expected: ExpectedObject, to: ObjectRef): void {
  const type = copied.image?.content_type ?? 'no image';
  if (copied.sha256 !== expected.sha256 || type !== expected.content_type) {
    throw new StorageError(
      'mismatch',
      `The copy at ${describeRef(to)} has sha256 ${copied.sha256} (${type}), expected ${expected.sha256} (${expected.content_type}); it was removed`,
    );
  }
}

/** The destination's inspection, or null when there is no object there yet. */
export async function inspectIfPresent(storage: ObjectStorage, ref: ObjectRef, options: StreamOptions): Promise<ObjectInspection | null> {
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
export function acceptExisting(existing: ObjectInspection, { sha256 }: Pick<ExpectedObject, 'sha256'>, to: ObjectRef): ObjectInspection {
  if (existing.sha256 === sha256) return existing;
  throw new StorageError('conflict', `${describeRef(to)} already holds a different object (sha256 ${existing.sha256}, expected ${sha256})`);
}
