import { status as grpcStatus, type Interceptor } from '@grpc/grpc-js';
import {
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
  ServiceError,
  type Client,
  type GrpcRetryOptions,
} from '@temporalio/client';
import { ERRORS } from '../services/errors.js';

/** gRPC codes that mean "the cluster could not be reached or did not answer in time". */
const UNAVAILABLE_CODES = new Set<number>([
  grpcStatus.UNAVAILABLE,
  grpcStatus.DEADLINE_EXCEEDED,
  grpcStatus.CANCELLED,
  grpcStatus.RESOURCE_EXHAUSTED,
]);

/** Raised by `withTemporalDeadline` when a call overran its budget (the gRPC deadline did not end it). */
export class TemporalTimeoutError extends Error {
  override readonly name = 'TemporalTimeoutError';
}

/**
 * The client's connection failures, classified once by gRPC status (never by message): a
 * status meaning unreachable, a `ServiceError` or other error caused by one, or our own timeout.
 */
export function isTemporalUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  if (error instanceof TemporalTimeoutError) return true;
  if (isGrpcServiceError(error)) return UNAVAILABLE_CODES.has(error.code);
  const cause = (error as { cause?: unknown }).cause;
  if (error instanceof ServiceError || cause !== undefined) return isTemporalUnavailable(cause, depth + 1);
  return false;
}

/**
 * Runs Temporal calls with a deadline: gRPC ends them at `timeoutMs` (its retries included),
 * and a timer backs that up, so nothing waits past Shopify's 5 s. Unreachable → 503.
 */
export async function withTemporalDeadline<T>(client: Client, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TemporalTimeoutError(`Temporal did not answer within ${timeoutMs} ms`)), timeoutMs + 250);
  });
  try {
    return await Promise.race([client.withDeadline(deadline, fn), backstop]);
  } catch (error) {
    if (isTemporalUnavailable(error)) throw ERRORS.temporalUnavailable();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The API connection's gRPC retry interceptor: the SDK's default backoff, except that it never
 * schedules a retry that would start after the call's deadline. (The default one ignores the
 * deadline: a call then overruns it by up to a backoff interval, and a retry timer left pending
 * fires on a closed channel at shutdown with "Channel has been shut down".)
 */
export function deadlineAwareRetryInterceptor(base: GrpcRetryOptions = defaultGrpcRetryOptions()): Interceptor {
  return (options, nextCall) => {
    const deadline = options.deadline === undefined ? Infinity : new Date(options.deadline).getTime();
    let delay = 0;
    const retryOptions: GrpcRetryOptions = {
      retryableDecider(attempt, status) {
        if (!base.retryableDecider(attempt, status)) return false;
        delay = base.delayFunction(attempt, status);
        return Date.now() + delay < deadline;
      },
      delayFunction: () => delay,
    };
    return makeGrpcRetryInterceptor(retryOptions)(options, nextCall);
  };
}
