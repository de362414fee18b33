import { ApplicationFailure } from '@temporalio/activity';
import { FulfillmentError } from '../domain/errors.js';
import type { ReasonCode } from '../domain/reasons.js';
import { StorageError, type StorageErrorKind } from '../storage/storage-error.js';

const STORAGE_REASONS: Record<Exclude<StorageErrorKind, 'transient'>, ReasonCode> = {
  not_found: 'asset_missing',
  no_bucket: 'asset_inaccessible',
  denied: 'asset_inaccessible',
  conflict: 'checksum_mismatch',
  mismatch: 'checksum_mismatch',
};

/**
 * The one place where errors become Temporal failures: a line's own failure is a
 * non-retryable ApplicationFailure whose type is the reason code; anything else (network,
 * 5xx, database) is rethrown as is, so the retry policy retries it with backoff.
 */
export function toActivityFailure(error: unknown): unknown {
  const domain = toFulfillmentError(error);
  if (!domain) return error;
  return ApplicationFailure.create({
    type: domain.reason,
    message: domain.message,
    nonRetryable: true,
    details: [domain.details],
  });
}

function toFulfillmentError(error: unknown): FulfillmentError | undefined {
  if (error instanceof FulfillmentError) return error;
  if (error instanceof StorageError && error.kind !== 'transient') {
    return new FulfillmentError(STORAGE_REASONS[error.kind], error.message);
  }
  return undefined;
}

/** Wraps every activity so that mapping happens once, whatever the activity. */
export function mapFailures<A extends unknown[], R>(activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await activity(...args);
    } catch (error) {
      throw toActivityFailure(error);
    }
  };
}
