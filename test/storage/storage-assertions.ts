import { expect } from 'vitest';
import type { ExpectedObject, ImageContentType } from '../../src/storage/object-storage.js';
import { StorageError, type StorageErrorKind } from '../../src/storage/storage-error.js';
import { sha256 } from '../support/fixtures.js';

/** Settles `promise` and returns what it rejected with, failing the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

export async function expectStorageError(promise: Promise<unknown>, kind: StorageErrorKind): Promise<StorageError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).kind, (error as Error).message).toBe(kind);
  return error as StorageError;
}

/** What a copy of `bytes` is expected to be (a PNG unless said otherwise). */
export const expected = (bytes: Uint8Array, content_type: ImageContentType = 'image/png'): ExpectedObject => ({
  sha256: sha256(bytes),
  content_type,
});
