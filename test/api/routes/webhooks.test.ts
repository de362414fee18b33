import { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../../src/intake/shopify.js';
import { TemporalTimeoutError } from '../../../src/intake/temporal-deadline.js';
import { getOrderLineView, registerOrderLines } from '../../../src/db/repositories/order-lines.js';
import { bearer, expectError, linePath, useApiApp, type WebhookAnswer } from '../../support/api-app.js';
import { buildTestApp } from '../../support/capture-app.js';
import { bigId, hmac, orderPayload, personalized } from '../../support/fixtures.js';
import { must } from '../../support/must.js';

const api = useApiApp();
const { creds, logs, webhook, workflowExists } = api;
let app: FastifyInstance;
let deadApp: FastifyInstance;
let client: Client;
let database: typeof api.database;
let taskQueue: string;
let base: typeof api.base;
beforeAll(() => {
  ({ app, deadApp, client, database, taskQueue, base } = api);
});

describe('POST /webhooks/shopify', () => {
  it('starts one workflow per personalized line, registers the lines at once and ignores the rest', async () => {
    const orderId = bigId();
    const [a, b, plain, nullProps, noProps, badId, both] = Array.from({ length: 7 }, bigId) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const body = orderPayload(orderId, [
      { id: a, properties: personalized('pers-a', 'personalization_id') },
      { id: b, properties: personalized('pers-b', '_personalization_id') },
      {
        id: plain,
        properties: [
          { name: 'Colour', value: 'red' },
          { name: 'personalization_id', value: '' },
        ],
      },
      { id: nullProps, properties: null },
      { id: noProps },
      { id: badId, properties: personalized('bad\u0000id') },
      {
        id: both,
        properties: [
          { name: 'personalization_id', value: 'one' },
          { name: '_personalization_id', value: 'two' },
        ],
      },
    ]);

    const response = await webhook(app, body);
    expect(response.statusCode, response.body).toBe(200);
    const answer = response.json<WebhookAnswer>();
    const acceptedAs = (status: string) =>
      [a, b, badId, both].map((line) => ({ order_line_id: line, workflow_id: `${creds.shop}:${line}:fulfillment`, status }));
    expect(answer.accepted).toEqual(acceptedAs('started'));
    expect(answer.ignored).toEqual([
      { order_line_id: plain, reason: 'not_personalized' },
      { order_line_id: nullProps, reason: 'not_personalized' },
      { order_line_id: noProps, reason: 'not_personalized' },
    ]);

    // Exact ids above 2^53, in Temporal and in the status route.
    const description = await client.workflow.getHandle(`${creds.shop}:${a}:fulfillment`).describe();
    expect(description.type).toBe('FulfillOrderLine');
    const status = await app.inject({ url: linePath({ shop_id: creds.shop, order_line_id: a }), headers: bearer(creds.merchantToken) });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ order_id: orderId, order_line_id: a, personalization_id: 'pers-a', status: 'processing' });
    // Lines whose personalization can name no preview are registered too, to fail on record.
    for (const [line, personalizationId] of [
      [badId, 'bad\u001aid'],
      [both, 'one\ntwo'],
    ] as const) {
      const registered = await app.inject({
        url: linePath({ shop_id: creds.shop, order_line_id: line }),
        headers: bearer(creds.operatorToken),
      });
      expect(registered.json()).toMatchObject({ personalization_id: personalizationId, status: 'processing' });
    }
    const ignoredLine = await app.inject({
      url: linePath({ shop_id: creds.shop, order_line_id: plain }),
      headers: bearer(creds.operatorToken),
    });
    expect(ignoredLine.statusCode).toBe(404);

    // Redelivery and orders/paid: the same workflows, reported as duplicates.
    for (const topic of ['orders/create', 'orders/paid']) {
      const again = await webhook(app, body, { topic });
      expect(again.statusCode).toBe(200);
      expect(again.json<WebhookAnswer>().accepted).toEqual(acceptedAs('duplicate'));
    }
  });

  it('registers the lines of deliveries arriving together, orders/create beside orders/paid', async () => {
    const orders = Array.from({ length: 6 }, () => ({ orderId: bigId(), lines: [bigId(), bigId()] }));
    const deliveries = orders.flatMap(({ orderId, lines }) => {
      const body = orderPayload(
        orderId,
        lines.map((id) => ({ id, properties: personalized(`pers-${id}`) })),
      );
      return ['orders/create', 'orders/paid'].map((topic) => webhook(app, body, { topic }));
    });
    for (const response of await Promise.all(deliveries)) expect(response.statusCode, response.body).toBe(200);
    for (const { orderId, lines } of orders) {
      for (const order_line_id of lines) {
        const view = await getOrderLineView(database.db, { shop_id: creds.shop, order_line_id });
        expect(view).toMatchObject({ order_id: orderId, personalization_id: `pers-${order_line_id}`, status: 'processing' });
      }
    }
  });

  it('answers a line an earlier run persisted duplicate once Temporal has forgotten the run, starting nothing', async () => {
    const [orderId, line] = [bigId(), bigId()];
    const workflowId = `${creds.shop}:${line}:fulfillment`;
    // What the run left behind, its execution gone from Temporal (past the namespace's retention).
    await registerOrderLines(database.db, [
      { shop_id: creds.shop, order_id: orderId, order_line_id: line, personalization_id: 'pers-forgotten' },
    ]);
    await database.db
      .updateTable('order_lines')
      .set({ status: 'persisted' })
      .where('shop_id', '=', creds.shop)
      .where('order_line_id', '=', line)
      .execute();

    const late = await webhook(app, orderPayload(orderId, [{ id: line, properties: personalized('pers-forgotten') }]));
    expect(late.json<WebhookAnswer>().accepted).toEqual([{ order_line_id: line, workflow_id: workflowId, status: 'duplicate' }]);
    expect(await workflowExists(workflowId)).toBe(false);
  });

  it('starts a line again whose row an ended run left unsettled (terminated by hand): how it recovers', async () => {
    const [orderId, line] = [bigId(), bigId()];
    await registerOrderLines(database.db, [
      { shop_id: creds.shop, order_id: orderId, order_line_id: line, personalization_id: 'pers-unsettled' },
    ]);
    const delivery = await webhook(app, orderPayload(orderId, [{ id: line, properties: personalized('pers-unsettled') }]));
    expect(delivery.json<WebhookAnswer>().accepted).toEqual([
      { order_line_id: line, workflow_id: `${creds.shop}:${line}:fulfillment`, status: 'started' },
    ]);
  });

  it('accepts the old secret during rotation and any content type', async () => {
    const line = bigId();
    const body = orderPayload(bigId(), [{ id: line, properties: personalized('pers-rotation') }]);
    const response = await webhook(app, body, { secret: creds.oldWebhookSecret, contentType: 'text/plain' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<WebhookAnswer>().accepted).toEqual([
      { order_line_id: line, workflow_id: `${creds.shop}:${line}:fulfillment`, status: 'started' },
    ]);
  });

  it('takes the id from admin_graphql_api_id when the numeric id is missing', async () => {
    const line = bigId();
    const body = `{"admin_graphql_api_id":"gid://shopify/Order/${bigId()}","line_items":[{"admin_graphql_api_id":"gid://shopify/LineItem/${line}","properties":[{"name":"_personalization_id","value":"pers-gid"}]}]}`;
    const response = await webhook(app, body);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<WebhookAnswer>().accepted[0]?.order_line_id).toBe(line);
  });

  it('refuses a missing, wrong or stale HMAC with 401 invalid_hmac and starts nothing', async () => {
    const line = bigId();
    const body = orderPayload(bigId(), [{ id: line, properties: personalized('pers-nohmac') }]);
    expectError(await webhook(app, body, { secret: null }), 401, 'invalid_hmac');
    expectError(await webhook(app, body, { secret: 'not-the-secret' }), 401, 'invalid_hmac');
    expectError(await webhook(app, body, { hmacHeader: hmac(`${body} `, creds.webhookSecret) }), 401, 'invalid_hmac');
    expectError(await webhook(app, body, { hmacHeader: '' }), 401, 'invalid_hmac');
    // HMAC first: even a malformed body or a bad shop header gets 401 without a valid signature.
    expectError(await webhook(app, '{not json', { secret: 'wrong' }), 401, 'invalid_hmac');
    expectError(await webhook(app, body, { secret: 'wrong', shop: 'not a shop' }), 401, 'invalid_hmac');
    expect(await workflowExists(`${creds.shop}:${line}:fulfillment`)).toBe(false);
    const status = await app.inject({ url: linePath({ shop_id: creds.shop, order_line_id: line }), headers: bearer(creds.operatorToken) });
    expect(status.statusCode).toBe(404);
  });

  it('answers 400 invalid_payload for malformed JSON, a body that is no order, and bad headers', async () => {
    expectError(await webhook(app, '{"id": 1, "line_items": ['), 400, 'invalid_payload');
    expectError(await webhook(app, ''), 400, 'invalid_payload');
    expectError(await webhook(app, '[1,2]'), 400, 'invalid_payload');
    expectError(await webhook(app, '{"line_items": []}'), 400, 'invalid_payload');
    expectError(await webhook(app, '{"id": 5, "line_items": {"a": 1}}'), 400, 'invalid_payload');
    const body = orderPayload(bigId(), []);
    const badShop = expectError(await webhook(app, body, { shop: 'evil.example.com' }), 400, 'invalid_payload');
    expect(JSON.stringify(badShop.details)).toContain('x-shopify-shop-domain');
  });

  it('acknowledges other topics without starting anything', async () => {
    const line = bigId();
    const body = orderPayload(bigId(), [{ id: line, properties: personalized('pers-other-topic') }]);
    const response = await webhook(app, body, { topic: 'orders/updated' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: [], ignored: [] });
    expect(await workflowExists(`${creds.shop}:${line}:fulfillment`)).toBe(false);
  });

  it('refuses a delivery without a well-formed signature header with 401 before reading its body', async () => {
    // Over the limit: had the body been read first, this would be a 413.
    const oversized = Buffer.alloc(WEBHOOK_BODY_LIMIT + 1, 0x20);
    expectError(await webhook(app, oversized, { secret: null }), 401, 'invalid_hmac');
    for (const hmacHeader of ['', 'not-base64!', 'c2hvcnQ=', `${hmac('{}', creds.webhookSecret)}AAAA`]) {
      expectError(await webhook(app, oversized, { hmacHeader }), 401, 'invalid_hmac');
    }
    // A header of the right shape has its body read, then checked against it.
    expectError(await webhook(app, oversized, { hmacHeader: hmac('{}', creds.webhookSecret) }), 413, 'payload_too_large');
  });

  it(`refuses a body over ${WEBHOOK_BODY_LIMIT} bytes with 413 payload_too_large`, async () => {
    const body = Buffer.alloc(WEBHOOK_BODY_LIMIT + 1, 0x20);
    expectError(await webhook(app, body), 413, 'payload_too_large');
  });

  it('answers 503 temporal_unavailable, within Shopify’s 5 s, when Temporal cannot be reached, registering nothing', async () => {
    const line = bigId();
    const body = orderPayload(bigId(), [{ id: line, properties: personalized('pers-dead') }]);
    const started = Date.now();
    expectError(await webhook(deadApp, body), 503, 'temporal_unavailable');
    expect(Date.now() - started).toBeLessThan(4_000);
    // Not registered: a line that reads `processing` would be one nothing is processing.
    expect(await getOrderLineView(database.db, { shop_id: creds.shop, order_line_id: line })).toBeUndefined();
    // A delivery without personalized lines needs no Temporal: still 200.
    expect((await webhook(deadApp, orderPayload(bigId(), [{ id: bigId(), properties: null }]))).statusCode).toBe(200);
  });

  it('registers, when some starts fail, only the lines whose workflows started', async () => {
    const [started, refused] = [bigId(), bigId()];
    const body = orderPayload(bigId(), [
      { id: started, properties: personalized('pers-half-1') },
      { id: refused, properties: personalized('pers-half-2') },
    ]);
    const halfClient = new Client({
      connection: client.connection,
      interceptors: {
        workflow: [
          {
            async startWithDetails(input, next) {
              if (input.options.workflowId.includes(refused)) throw new TemporalTimeoutError('this start times out');
              return next(input);
            },
          },
        ],
      },
    });
    const halfApp = await buildTestApp({ ...base, temporal: { client: halfClient, taskQueue } });
    try {
      expectError(await webhook(halfApp, body), 503, 'temporal_unavailable');
    } finally {
      await halfApp.close();
    }
    expect(await workflowExists(`${creds.shop}:${started}:fulfillment`)).toBe(true);
    expect(await getOrderLineView(database.db, { shop_id: creds.shop, order_line_id: started })).toMatchObject({ status: 'processing' });
    expect(await getOrderLineView(database.db, { shop_id: creds.shop, order_line_id: refused })).toBeUndefined();
  });

  it('turns a delivery away with 503 after half its budget when the starts in flight leave no room, having done nothing', async () => {
    const line = bigId();
    const body = orderPayload(bigId(), [{ id: line, properties: personalized('pers-full') }]);
    const admission = app.services.intake.startAdmission;
    let release!: () => void;
    const held = admission.run(admission.capacity, 10_000, () => new Promise<void>((resolve) => (release = resolve)));

    const started = Date.now();
    expectError(await webhook(app, body), 503, 'temporal_unavailable');
    expect(Date.now() - started).toBeGreaterThanOrEqual(app.services.temporalTimeoutMs / 2 - 50);
    expect(await workflowExists(`${creds.shop}:${line}:fulfillment`)).toBe(false);
    expect(await getOrderLineView(database.db, { shop_id: creds.shop, order_line_id: line })).toBeUndefined();
    expect(logs.entries().some((entry) => entry.msg === 'intake saturated: delivery turned away for Shopify to retry')).toBe(true);

    release();
    await held;
    // Shopify's retry finds room.
    expect((await webhook(app, body)).json<WebhookAnswer>().accepted).toEqual([
      { order_line_id: line, workflow_id: `${creds.shop}:${line}:fulfillment`, status: 'started' },
    ]);
  });
});

describe('logs', () => {
  it('carry correlation keys and never a token, secret or signature', () => {
    const entries = logs.entries();
    const started = must(
      entries.find((entry) => entry.msg === 'fulfillment started'),
      "the 'fulfillment started' line",
    );
    expect(started).toMatchObject({
      shop_id: creds.shop,
      webhook_id: expect.any(String) as unknown,
      order_id: expect.any(String) as unknown,
      order_line_id: expect.any(String) as unknown,
      workflow_id: expect.any(String) as unknown,
      request_id: expect.any(String) as unknown,
    });
    const completed = entries.filter((entry) => entry.msg === 'request completed' && entry.shop_id === creds.shop);
    expect(completed.length).toBeGreaterThan(0);
    // A delivery's own line names its order too.
    expect(completed.find((entry) => entry.request_id === started.request_id)).toMatchObject({ order_id: started.order_id });
    // One line per request, standing on its own: what was asked, what was answered, how fast.
    expect(completed[0]).toMatchObject({
      req: { method: expect.any(String) as unknown, url: expect.any(String) as unknown },
      res: { statusCode: expect.any(Number) as unknown },
      responseTime: expect.any(Number) as unknown,
    });
    expect(entries.some((entry) => entry.msg === 'incoming request')).toBe(false);

    api.expectNoSecretsLogged();
  });
});
