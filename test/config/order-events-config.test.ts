import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';

const SECRET = 'x'.repeat(32);

describe('ORDER_EVENTS_*', () => {
  it('is off by default, with URLs in events valid a week', () => {
    const config = loadConfig({});
    expect([config.ORDER_EVENTS_URL, config.ORDER_EVENTS_SECRET, config.ORDER_EVENTS_URL_TTL_SECONDS]).toEqual([
      undefined,
      undefined,
      604_800,
    ]);
  });

  it('takes an http(s) URL with its secret, a short one too (the worker warns about it at start-up)', () => {
    expect(loadConfig({ ORDER_EVENTS_URL: 'http://print.example/hooks', ORDER_EVENTS_SECRET: 'short' }).ORDER_EVENTS_SECRET).toBe('short');
    expect(
      loadConfig({ ORDER_EVENTS_URL: 'https://print.example/hooks', ORDER_EVENTS_SECRET: SECRET, ORDER_EVENTS_URL_TTL_SECONDS: '86400' }),
    ).toMatchObject({
      ORDER_EVENTS_URL: 'https://print.example/hooks',
      ORDER_EVENTS_URL_TTL_SECONDS: 86_400,
    });
  });

  it.each([
    [{ ORDER_EVENTS_URL: 'https://print.example/hooks' }, /ORDER_EVENTS_SECRET: is required when ORDER_EVENTS_URL is set/],
    [{ ORDER_EVENTS_URL: 'ftp://print.example/hooks', ORDER_EVENTS_SECRET: SECRET }, /ORDER_EVENTS_URL/],
    [{ ORDER_EVENTS_URL_TTL_SECONDS: '59' }, /ORDER_EVENTS_URL_TTL_SECONDS/],
    [{ ORDER_EVENTS_URL_TTL_SECONDS: '604801' }, /ORDER_EVENTS_URL_TTL_SECONDS/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
