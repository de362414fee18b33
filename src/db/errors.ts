/**
 * Whether a database error means "Postgres cannot be reached right now" (it is down,
 * restarting, refusing, or the network to it is), as opposed to a query that is wrong. Such a
 * failure passes on its own: the API answers 503 so callers retry, activities retry anyway.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) return true;
  return isDatabaseUnavailable(cause, depth + 1);
}

/** Socket errors on the way to the server (an `AggregateError` of several addresses carries one too). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SQLSTATE connection exceptions (class 08, but not 08P01, a protocol violation: the client's
 * bug), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now) and 53300 (too many
 * connections).
 */
const UNAVAILABLE_SQLSTATE = /^(?:0800[0-4]|08006|08007|57P0[1-3]|53300)$/;

/** What `pg` and `pg-pool` say, without a code, when a connection fails or dies. */
const PG_CONNECTION_MESSAGES =
  /^(?:Connection terminated(?: unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable)$/;
