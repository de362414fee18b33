import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../../src/api/plugins/auth.js';
import { bearer, expectError, linePath, useApiApp } from '../../support/api-app.js';
import { buildTestApp } from '../../support/capture-app.js';

const api = useApiApp();
const { creds, newLine } = api;
let app: FastifyInstance;
beforeAll(() => {
  ({ app } = api);
});

describe('createTokenVerifier', () => {
  const verify = createTokenVerifier([
    { token: 'operator-token-0001-0123456789abcdef', scope: '*' },
    { token: 'merchant-token-0001-0123456789abcdef', scope: 'a.myshopify.com' },
  ]);
  it('maps a bearer token to its scope', () => {
    expect(verify('Bearer operator-token-0001-0123456789abcdef')).toEqual({ scope: '*' });
    expect(verify('bearer merchant-token-0001-0123456789abcdef')).toEqual({ scope: 'a.myshopify.com' });
    expect(verify('Bearer merchant-token-0001-0123456789abcde')).toBeNull();
    expect(verify('merchant-token-0001-0123456789abcdef')).toBeNull();
    expect(verify('Bearer merchant-token-0001-0123456789abcdef extra')).toBeNull();
    expect(verify(undefined)).toBeNull();
  });
});

describe('bearer tokens', () => {
  it('refuses a missing or unknown token with 401 before looking at the body', async () => {
    const missing = await app.inject({ url: linePath(newLine()) });
    expectError(missing, 401, 'unauthorized');
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expectError(await app.inject({ url: linePath(newLine()), headers: bearer(`${creds.operatorToken}x`) }), 401, 'unauthorized');
    expectError(await app.inject({ url: linePath(newLine()), headers: { authorization: creds.operatorToken } }), 401, 'unauthorized');
    expectError(
      await app.inject({ url: linePath(newLine()), headers: { authorization: `Basic ${creds.operatorToken}` } }),
      401,
      'unauthorized',
    );
    expectError(
      await app.inject({ method: 'POST', url: '/v1/previews', headers: { 'content-type': 'application/json' }, payload: '{oops' }),
      401,
      'unauthorized',
    );
  });
});

describe('failed bearer attempts', () => {
  const limit = { max: 3, windowMs: 60_000 };
  const fromAddress = (target: FastifyInstance, remoteAddress: string, token?: string) =>
    target.inject({ url: linePath(newLine()), remoteAddress, ...(token ? { headers: bearer(token) } : {}) });

  it('are answered 429 in the envelope, with Retry-After, once an address has used up its window; successes never count', async () => {
    const limited = await buildTestApp({ ...api.base, failedAuthLimit: limit });
    try {
      // Successful requests, however many, are not limited; nor are requests without a token,
      // which guess nothing.
      for (let i = 0; i < limit.max * 3; i += 1) {
        expect((await fromAddress(limited, '192.0.2.1', creds.operatorToken)).statusCode).toBe(404);
        expectError(await fromAddress(limited, '192.0.2.2'), 401, 'unauthorized');
      }

      for (let i = 0; i < limit.max; i += 1)
        expectError(await fromAddress(limited, '192.0.2.2', `${creds.operatorToken}x`), 401, 'unauthorized');
      const refused = await fromAddress(limited, '192.0.2.2', `${creds.operatorToken}x`);
      const error = expectError(refused, 429, 'rate_limited');
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(limit.windowMs / 1000);
      expect(error.details).toEqual({ retry_after_seconds: retryAfter });
      // While the window lasts, that address is answered 429 whatever it sends: a right guess
      // learns nothing.
      expectError(await fromAddress(limited, '192.0.2.2'), 429, 'rate_limited');
      expectError(await fromAddress(limited, '192.0.2.2', creds.operatorToken), 429, 'rate_limited');

      // Other addresses, failing or not, are not held back by it.
      expectError(await fromAddress(limited, '192.0.2.3', `${creds.operatorToken}x`), 401, 'unauthorized');
      expect((await fromAddress(limited, '192.0.2.1', creds.operatorToken)).statusCode).toBe(404);
    } finally {
      await limited.close();
    }
  });
});

describe('tokens a guesser could find', () => {
  it('are taken, and the API warns at start-up how many entries are shorter than 32 characters, never the tokens', async () => {
    const lines: string[] = [];
    const tokens = [
      { token: 'short-operator-token', scope: '*' },
      { token: creds.operatorToken, scope: '*' },
    ];
    const warned = await buildTestApp({
      ...api.base,
      config: { ...api.base.config, API_TOKENS: tokens },
      logs: { write: (line) => lines.push(line) },
    });
    try {
      expect((await warned.inject({ url: linePath(newLine()), headers: bearer('short-operator-token') })).statusCode).toBe(404);
      const warning = lines
        .map((line) => JSON.parse(line) as { level: number; msg: string; entries?: number[] })
        .find((line) => line.msg.startsWith('API_TOKENS:'));
      expect(warning).toMatchObject({ level: 40, entries: [1] });
      expect(lines.join('\n')).not.toContain('short-operator-token');
    } finally {
      await warned.close();
    }
  });
});
