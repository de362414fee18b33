import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../../src/api/plugins/auth.js';
import { bearer, expectError, linePath, useApiApp } from '../../support/api-app.js';

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
    expectError(await app.inject({ url: linePath(newLine()), headers: { authorization: `Basic ${creds.operatorToken}` } }), 401, 'unauthorized');
    expectError(
      await app.inject({ method: 'POST', url: '/v1/previews', headers: { 'content-type': 'application/json' }, payload: '{oops' }),
      401,
      'unauthorized',
    );
  });
});
