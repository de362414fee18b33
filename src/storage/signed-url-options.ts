import type { SignedUrlOptions } from './object-storage.js';

/**
 * Letters, digits, `.`, `_`, `-` and spaces only: storage-js percent-encodes `download` into
 * the query and then encodes the whole URL again, so every other character (parentheses,
 * `+`, `%`, non-ASCII…) reaches the browser double-encoded.
 */
const DOWNLOAD_NAME = /^[A-Za-z0-9._ -]{1,255}$/;

export const isValidDownloadName = (name: string): boolean => DOWNLOAD_NAME.test(name);

/** Bad options are the caller's bug, not a storage failure: they throw `RangeError`. */
export function checkSignedUrlOptions({ expiresInSeconds, download }: SignedUrlOptions): void {
  if (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 1) {
    throw new RangeError(`expiresInSeconds must be a positive integer, got ${expiresInSeconds}`);
  }
  if (download !== undefined && !isValidDownloadName(download)) {
    throw new RangeError(`download must be a plain ASCII file name, got ${JSON.stringify(download.slice(0, 80))}`);
  }
}
