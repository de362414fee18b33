import type { QueryCost } from './orders-query.js';

/** When Shopify says nothing usable about the wait: one second, as its docs' examples back off. */
const FALLBACK_WAIT_MS = 1_000;

/**
 * How long a throttled query waits before it is sent again: until the leaky bucket has restored
 * the points the query asks for (`(requestedQueryCost - currentlyAvailable) / restoreRate`).
 */
export function throttledWaitMs(cost: QueryCost | undefined): number {
  const status = cost?.throttleStatus;
  if (!status || cost.requestedQueryCost === undefined) return FALLBACK_WAIT_MS;
  const missing = cost.requestedQueryCost - status.currentlyAvailable;
  return Math.max(Math.ceil((missing / status.restoreRate) * 1000), 1);
}

/** HTTP 429's `Retry-After` (seconds, possibly fractional, or an HTTP date). */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null) return FALLBACK_WAIT_MS;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? FALLBACK_WAIT_MS : Math.max(at - now, 0);
}
