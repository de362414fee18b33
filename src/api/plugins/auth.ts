import { createHash, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isGuessable, MIN_SECRET_LENGTH, type ApiToken } from '../../config/config.js';
import { ERRORS } from '../../services/errors.js';
import type { Principal } from '../../services/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the bearer-token hook on `/v1` routes. */
    principal: Principal | null;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` against `API_TOKENS`. Both sides are SHA-256 digests
 * of equal length compared with `timingSafeEqual`, and every configured token is compared, so
 * neither a token's content nor which entry matched shows in the timing.
 */
export function createTokenVerifier(tokens: readonly ApiToken[]): (authorization: string | undefined) => Principal | null {
  const known = tokens.map(({ token, scope }) => ({ digest: digest(token), scope }));
  return (authorization) => {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization ?? '');
    if (!match?.[1]) return null;
    const candidate = digest(match[1]);
    let found: Principal | null = null;
    for (const entry of known) {
      if (timingSafeEqual(entry.digest, candidate) && found === null) found = { scope: entry.scope };
    }
    return found;
  };
}

/** Wrong tokens one address may present per window before it is answered 429. */
export interface FailedAuthLimit {
  max: number;
  windowMs: number;
}

/** Far above what a client that mistyped or rotated its token sends, far below what guessing needs. */
export const DEFAULT_FAILED_AUTH_LIMIT: FailedAuthLimit = { max: 100, windowMs: 60_000 };

/**
 * Bearer authentication of every route in `app`'s scope, in `onRequest`: an unauthenticated
 * call is turned away before its body is read. Wrong tokens are counted per address
 * (@fastify/rate-limit's store); a request without one guesses nothing and is not counted. Once
 * an address has used up its window, it is answered 429 before its token is even looked at, so
 * a guess that happens to be right tells it nothing until the window passes. Successful
 * requests never count.
 */
export async function bearerAuth(
  app: FastifyInstance,
  options: { tokens: readonly ApiToken[]; failedAttempts: FailedAuthLimit },
): Promise<void> {
  const verify = createTokenVerifier(options.tokens);
  const guessable = options.tokens.flatMap(({ token }, index) => (isGuessable(token) ? [index + 1] : []));
  if (guessable.length > 0) {
    app.log.warn(
      { entries: guessable },
      `API_TOKENS: ${guessable.length} token(s) shorter than ${MIN_SECRET_LENGTH} characters, which a guesser could find; use ${MIN_SECRET_LENGTH} or more random characters`,
    );
  }
  await app.register(rateLimit, { global: false });
  const failures = app.createRateLimit({ max: options.failedAttempts.max, timeWindow: options.failedAttempts.windowMs });
  app.addHook('onRequest', async (request) => {
    const recorded = await failures(request, { increment: false });
    if (!recorded.isAllowed && recorded.isExceeded) throw ERRORS.tooManyFailedAttempts(recorded.ttlInSeconds);
    const header = request.headers.authorization;
    if (!header) throw ERRORS.missingToken();
    const principal = verify(header);
    if (principal) {
      request.principal = principal;
      return;
    }
    const counted = await failures(request);
    if (!counted.isAllowed && counted.isExceeded) throw ERRORS.tooManyFailedAttempts(counted.ttlInSeconds);
    throw ERRORS.invalidToken();
  });
}

/** The authenticated caller; the hook guarantees one on every `/v1` route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw ERRORS.missingToken();
  return request.principal;
}
