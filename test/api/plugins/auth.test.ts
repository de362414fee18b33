import { describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../../src/api/plugins/auth.js';

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
