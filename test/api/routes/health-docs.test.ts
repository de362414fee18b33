import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectError, useApiApp } from '../../support/api-app.js';
import { must } from '../../support/must.js';

/** The OpenAPI document, as far as these tests read it. */
interface OpenApiOperation {
  responses: Record<string, unknown>;
  security?: unknown;
  requestBody?: { required?: boolean; content: Record<string, { schema: { required?: string[] } } | undefined> };
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation> | undefined>;
}

const api = useApiApp();
const { creds } = api;
let app: FastifyInstance;
let deadApp: FastifyInstance;
beforeAll(() => {
  ({ app, deadApp } = api);
});

describe('health, docs and the error envelope', () => {
  it('reports liveness and readiness', async () => {
    const live = await app.inject({ url: '/healthz' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok' } });

    expect((await deadApp.inject({ url: '/healthz' })).statusCode).toBe(200);
    const started = Date.now();
    const notReady = expectError(await deadApp.inject({ url: '/readyz' }), 503, 'not_ready');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(notReady.details).toEqual({ checks: { database: 'ok', temporal: 'unavailable' } });
  });

  it('serves the OpenAPI document with every route', async () => {
    const response = await app.inject({ url: '/docs' });
    expect(response.statusCode).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document.openapi).toMatch(/^3\.1/);
    const routes = Object.entries(document.paths).flatMap(([route, methods]) =>
      Object.keys(methods ?? {}).map((method) => `${method.toUpperCase()} ${route}`),
    );
    const post = (route: string) => must(document.paths[route]?.post, `POST ${route} in the document`);
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /webhooks/shopify',
        'POST /v1/previews',
        'GET /v1/shops/{shop_id}/order-lines/{order_line_id}',
        'POST /v1/shops/{shop_id}/order-lines/{order_line_id}/final-asset/signed-url',
        'POST /v1/shops/{shop_id}/order-lines/{order_line_id}/retry',
        'GET /healthz',
        'GET /readyz',
        'GET /files/{*}',
      ]),
    );
    const webhookDoc = post('/webhooks/shopify');
    expect(Object.keys(webhookDoc.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413', '503']));
    const signDoc = post('/v1/shops/{shop_id}/order-lines/{order_line_id}/final-asset/signed-url');
    expect(signDoc.requestBody?.required).toBe(false);
    const previewDoc = post('/v1/previews');
    expect(previewDoc.security).toEqual([{ bearerAuth: [] }]);
    expect(previewDoc.requestBody?.content['application/json']?.schema.required).toEqual(
      expect.arrayContaining(['shop_id', 'personalization_id', 'job_id', 'status']),
    );
  });

  it('answers unknown routes and methods with the envelope and a request id', async () => {
    const response = await app.inject({ url: '/nope?x=1' });
    expectError(response, 404, 'not_found');
    expect(response.headers['x-request-id']).toBeTruthy();
    expectError(await app.inject({ method: 'DELETE', url: '/v1/previews', headers: bearer(creds.operatorToken) }), 404, 'not_found');
    const traced = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-1234-abcd' } });
    expect(traced.headers['x-request-id']).toBe('trace-1234-abcd');
  });
});
