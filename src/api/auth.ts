import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken } from '../config/config.js';
import { ApiError } from './errors.js';

/** Who is calling: an operator (`*`) or a merchant limited to one shop. */
export interface Principal {
  scope: '*' | string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the bearer-token hook on `/v1` routes. */
    principal: Principal | null;
  }
}

export const canAccessShop = (principal: Principal, shopId: string): boolean =>
  principal.scope === '*' || principal.scope === shopId;

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

const challenge = { 'www-authenticate': 'Bearer realm="printready"' };

/** `onRequest` hook: before the body is even read, an unauthenticated call is turned away. */
export function bearerAuth(tokens: readonly ApiToken[]) {
  const verify = createTokenVerifier(tokens);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) throw new ApiError(401, 'unauthorized', 'A bearer token is required', undefined, challenge);
    const principal = verify(header);
    if (!principal) {
      throw new ApiError(401, 'unauthorized', 'The bearer token is not valid', undefined, {
        'www-authenticate': 'Bearer realm="printready", error="invalid_token"',
      });
    }
    request.principal = principal;
  };
}

/** The authenticated caller; the hook guarantees one on every `/v1` route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError(401, 'unauthorized', 'A bearer token is required', undefined, challenge);
  return request.principal;
}
