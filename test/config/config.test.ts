import { describe, expect, it } from 'vitest';
import { ConfigError, isGuessable, loadConfig } from '../../src/config/config.js';

describe('loadConfig', () => {
  it('applies the contract’s defaults to an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 3000,
      DATA_DIR: '.data',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'fulfillment',
      PREVIEW_BUCKET: 'previews',
      PRINT_BUCKET: 'print-assets',
      PREVIEW_WAIT_SECONDS: 1800,
      SIGNED_URL_TTL_SECONDS: 900,
      SHOPIFY_WEBHOOK_SECRETS: [],
      API_TOKENS: [],
    });
    const { DATABASE_URL, TEMPORAL_ADDRESS, SUPABASE_URL, POSTHOG_API_KEY } = loadConfig({});
    expect([DATABASE_URL, TEMPORAL_ADDRESS, SUPABASE_URL, POSTHOG_API_KEY]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('treats empty or blank values as unset, and trims the others', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', POSTHOG_API_KEY: '' });
    expect([config.PORT, config.DATABASE_URL, config.POSTHOG_API_KEY]).toEqual([3000, undefined, undefined]);
    const blank = loadConfig({ PORT: ' ', PREVIEW_WAIT_SECONDS: '  ', TEMPORAL_ADDRESS: ' ', POSTHOG_API_KEY: '\t', HOST: ' ' });
    expect([blank.PORT, blank.PREVIEW_WAIT_SECONDS, blank.TEMPORAL_ADDRESS, blank.POSTHOG_API_KEY, blank.HOST]).toEqual([
      3000,
      1800,
      undefined,
      undefined,
      '127.0.0.1',
    ]);
    expect(loadConfig({ TEMPORAL_ADDRESS: ' temporal:7233 ' }).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('parses secrets and scoped tokens', () => {
    const config = loadConfig({
      SHOPIFY_WEBHOOK_SECRETS: 'new-secret, old-secret',
      API_TOKENS: 'operator-token-0123456789abcdefghij=*,merchant-token-0123456789abcdefghij=acme.myshopify.com',
    });
    expect(config.SHOPIFY_WEBHOOK_SECRETS).toEqual(['new-secret', 'old-secret']);
    expect(config.API_TOKENS).toEqual([
      { token: 'operator-token-0123456789abcdefghij', scope: '*' },
      { token: 'merchant-token-0123456789abcdefghij', scope: 'acme.myshopify.com' },
    ]);
  });

  it('takes LOCAL_SIGNING_SECRET as a comma-separated list for rotation, each entry long enough', () => {
    const fresh = 'n'.repeat(32);
    const old = 'o'.repeat(40);
    expect(loadConfig({ LOCAL_SIGNING_SECRET: `${fresh},${old}` }).LOCAL_SIGNING_SECRET).toBe(`${fresh},${old}`);
  });

  it('takes TEMPORAL_TLS_CA_PATH together with TEMPORAL_TLS=true', () => {
    expect(loadConfig({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CA_PATH: '/etc/ca.pem' }).TEMPORAL_TLS_CA_PATH).toBe('/etc/ca.pem');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SIGNED_URL_TTL_SECONDS: '10' }, 'SIGNED_URL_TTL_SECONDS'],
    [{ API_TOKENS: '=*' }, 'API_TOKENS'],
    [{ API_TOKENS: 'no-scope-given' }, 'API_TOKENS'],
    [{ API_TOKENS: 'long-enough-token-0123456789abcdef=not a shop' }, 'API_TOKENS'],
    [{ API_TOKENS: `${'s'.repeat(32)}=acme.myshopify.com,${'s'.repeat(32)}=*` }, 'API_TOKENS'],
    [{ LOCAL_SIGNING_SECRET: 's'.repeat(31) }, 'LOCAL_SIGNING_SECRET'],
    [{ LOCAL_SIGNING_SECRET: `${'n'.repeat(32)},short-old-secret` }, 'LOCAL_SIGNING_SECRET'],
    [{ TEMPORAL_TLS_CA_PATH: '/etc/ca.pem' }, 'TEMPORAL_TLS_CA_PATH'],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_PATH: '/etc/ca.pem' }, 'TEMPORAL_TLS_CA_PATH'],
    [{ PRINT_BUCKET: 'Print_Assets' }, 'PRINT_BUCKET'],
    [{ PREVIEW_BUCKET: '../previews' }, 'PREVIEW_BUCKET'],
    [{ SUPABASE_URL: 'https://x.supabase.co' }, 'SUPABASE_SERVICE_ROLE_KEY'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    [{ TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: .*${variable}: `));
  });

  it('says which entry is wrong and that both TLS settings go together', () => {
    expect(() => loadConfig({ API_TOKENS: `${'o'.repeat(32)}=*,${'m'.repeat(32)}=acme` })).toThrow(/API_TOKENS: entry 2 scope must be/);
    expect(() => loadConfig({ TEMPORAL_TLS_CA_PATH: '/etc/ca.pem' })).toThrow(/TEMPORAL_TLS_CA_PATH: .*TEMPORAL_TLS=true/);
  });

  it('takes a token shorter than 32 characters (the API warns about it at start-up) but not a signing secret', () => {
    expect(loadConfig({ API_TOKENS: 'ops=*,acme-token=acme.myshopify.com' }).API_TOKENS).toEqual([
      { token: 'ops', scope: '*' },
      { token: 'acme-token', scope: 'acme.myshopify.com' },
    ]);
    expect(isGuessable('o'.repeat(31))).toBe(true);
    expect(isGuessable('o'.repeat(32))).toBe(false);
    expect(() => loadConfig({ LOCAL_SIGNING_SECRET: 's'.repeat(31) })).toThrow(/LOCAL_SIGNING_SECRET: must be/);
  });

  it('never echoes a secret value in its message', () => {
    try {
      loadConfig({ API_TOKENS: 'sup3r-s3cret-token-value-0123456789=bad scope', LOCAL_SIGNING_SECRET: 'sup3r-short-signing' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toMatch(/sup3r/);
    }
  });
});

describe('reconciliation settings', () => {
  it('reads SHOPIFY_ADMIN_TOKENS as shop_id=access_token, and the defaults', () => {
    const config = loadConfig({ SHOPIFY_ADMIN_TOKENS: 'a.myshopify.com=shpat_one, b.myshopify.com=shpat_two' });
    expect(config.SHOPIFY_ADMIN_TOKENS).toEqual([
      { shop_id: 'a.myshopify.com', token: 'shpat_one' },
      { shop_id: 'b.myshopify.com', token: 'shpat_two' },
    ]);
    expect(config).toMatchObject({ RECONCILE_INTERVAL_MINUTES: 15, SHOPIFY_API_VERSION: '2025-10' });
    expect(config.SHOPIFY_ADMIN_ORIGIN).toBeUndefined();
  });

  it('refuses a bad entry or a shop twice, without echoing the token', () => {
    for (const value of [
      'shpat_secret_value',
      'not a shop=shpat_secret_value',
      'a.myshopify.com=',
      'a.myshopify.com=shpat_secret_value,a.myshopify.com=shpat_secret_value',
    ]) {
      const error = (() => {
        try {
          loadConfig({ SHOPIFY_ADMIN_TOKENS: value });
        } catch (caught) {
          return caught as Error;
        }
        return undefined;
      })();
      expect(error?.message, value).toMatch(/SHOPIFY_ADMIN_TOKENS/);
      expect(error?.message).not.toContain('shpat_secret_value');
    }
    expect(() => loadConfig({ SHOPIFY_API_VERSION: 'latest' })).toThrow(/SHOPIFY_API_VERSION/);
  });
});
