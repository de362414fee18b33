import fc from 'fast-check';
import { describe, it } from 'vitest';
import { useHostileApp } from '../../support/hostile-app.js';

/** Hostile input on /v1/shops/:shop_id/order-lines/… (see `useHostileApp`): 2xx or a 4xx envelope, never a 5xx. */
const hostile = useHostileApp();
const {
  creds,
  merchantToken,
  persistedLine,
  failedLine,
  expectSafe,
  headerText,
  hostileValue,
  segment,
  deepNesting,
  contentType,
  withoutUndefined,
} = hostile;

describe('hostile input: /v1/shops/:shop_id/order-lines/…', () => {
  it('answers hostile ids, paths and tokens on every /v1 route with 2xx or a 4xx envelope', async () => {
    const token = fc.oneof(
      fc.constant(`Bearer ${creds.operatorToken}`),
      fc.constant(`Bearer ${merchantToken}`),
      fc.constant(`bearer ${creds.operatorToken}`),
      fc.constant(`Bearer ${creds.operatorToken}\u00a0`),
      fc.constant(`Bearer  ${creds.operatorToken} x`),
      fc.constant(`Basic ${Buffer.from(`${creds.operatorToken}:`).toString('base64')}`),
      fc.constant<string[]>([`Bearer ${creds.operatorToken}`, `Bearer ${merchantToken}`]),
      headerText.map((text) => `Bearer ${text}`),
      headerText,
    );
    const route = fc.oneof(
      fc.tuple(segment, segment).map(([s, l]) => ({ method: 'GET' as const, url: `/v1/shops/${s}/order-lines/${l}` })),
      fc
        .tuple(segment, segment)
        .map(([s, l]) => ({ method: 'POST' as const, url: `/v1/shops/${s}/order-lines/${l}/final-asset/signed-url` })),
      fc.tuple(segment, segment).map(([s, l]) => ({ method: 'POST' as const, url: `/v1/shops/${s}/order-lines/${l}/retry` })),
      fc
        .constantFrom(persistedLine, failedLine)
        .chain((line) =>
          fc.constantFrom(
            { method: 'GET' as const, url: `/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}` },
            { method: 'POST' as const, url: `/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}/final-asset/signed-url` },
            { method: 'POST' as const, url: `/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}/final-asset/signed-url?x=%00` },
            { method: 'DELETE' as const, url: `/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}` },
          ),
        ),
      fc.tuple(segment).map(([rest]) => ({ method: 'GET' as const, url: `/v1/${rest}` })),
      fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS').map((method) => ({ method: method as 'GET', url: '/v1/previews' })),
    );
    const body = fc.option(
      fc.oneof(
        fc.json({ maxDepth: 4 }),
        fc.record({ expires_in: hostileValue, download: hostileValue }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
        fc.constantFrom(
          '{"expires_in":60}',
          '{"expires_in":604800,"download":true}',
          '{"expires_in":1e400}',
          '{"__proto__":{"admin":true}}',
          'null',
          '',
        ),
        deepNesting,
      ),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(route, token, body, contentType, async (target, authorization, payload, type) => {
        const headers = withoutUndefined({ authorization, 'content-type': type });
        const response = await hostile.app.inject({ ...target, headers, ...(payload === undefined ? {} : { payload }) });
        expectSafe(response, (status) => status === 200 || status === 202);
      }),
      { numRuns: 400 },
    );
  });
});
