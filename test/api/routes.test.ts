import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../src/intake/shopify.js';
import { deadlineAwareRetryInterceptor, TemporalTimeoutError } from '../../src/intake/temporal-deadline.js';
import { recordLineFailure } from '../../src/db/repositories/failures.js';
import { persistFinalAsset } from '../../src/db/repositories/final-assets.js';
import { getOrderLineView, registerOrderLines, setLineWorking, type OrderLineIdentity } from '../../src/db/repositories/order-lines.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { recoveryGuidance } from '../../src/domain/reasons.js';
import { signLocalUrl } from '../../src/storage/local/local-signature.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { buildTestApp, type TestAppDeps } from '../support/capture-app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makePng } from '../support/images.js';
import { bigId, freePort, hmac, LogCapture, orderPayload, personalized, testConfig, testCredentials } from '../support/api.js';

const creds = testCredentials();
const config = testConfig(creds);
const PUBLIC_BASE = 'http://files.printready.test';
const logs = new LogCapture();

let database: TestDatabase;
let storageRoot: string;
let storage: LocalStorage;
let client: Client;
let deadClient: Client;
let taskQueue: string;
let app: FastifyInstance;
/** Same database and storage, but Temporal at a port where nothing listens. */
let deadApp: FastifyInstance;
let base: TestAppDeps;
let clock = Date.now();

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  database = await createTestDatabase();
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-api-'));
  storage = new LocalStorage({ root: storageRoot, publicBaseUrl: PUBLIC_BASE, signingSecret: creds.signingSecret });
  await storage.ensureBucket(config.PREVIEW_BUCKET);
  await storage.ensureBucket(config.PRINT_BUCKET);
  client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  // No worker polls this queue: workflows started here stay pending, which is all these tests need.
  taskQueue = `api-${randomBytes(6).toString('hex')}`;
  base = {
    config,
    db: database.db,
    storage,
    temporal: { client, taskQueue },
    telemetry: new NoopTelemetry(),
    logs,
    localSigningSecret: creds.signingSecret,
    now: () => clock,
  };
  app = await buildTestApp(base);
  deadClient = new Client({
    connection: Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      connectTimeout: '1s',
      // As main.ts connects: no retry outlives its call's deadline.
      interceptors: [deadlineAwareRetryInterceptor()],
    }),
  });
  deadApp = await buildTestApp({ ...base, temporal: { client: deadClient, taskQueue }, temporalTimeoutMs: 1_000, readinessTimeoutMs: 1_000 });
});

afterAll(async () => {
  await app?.close();
  await deadApp?.close();
  await client?.connection.close();
  await deadClient?.connection.close();
  await database?.close();
  if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function webhook(
  target: FastifyInstance,
  body: string | Buffer,
  options: { topic?: string; shop?: string; secret?: string | null; hmacHeader?: string; contentType?: string; webhookId?: string } = {},
) {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
    'x-shopify-topic': options.topic ?? 'orders/create',
    'x-shopify-shop-domain': options.shop ?? creds.shop,
    'x-shopify-webhook-id': options.webhookId ?? `wh-${randomBytes(4).toString('hex')}`,
    'x-shopify-api-version': '2025-07',
  };
  const secret = options.secret === undefined ? creds.webhookSecret : options.secret;
  if (options.hmacHeader !== undefined) headers['x-shopify-hmac-sha256'] = options.hmacHeader;
  else if (secret !== null) headers['x-shopify-hmac-sha256'] = hmac(body, secret);
  return target.inject({ method: 'POST', url: '/webhooks/shopify', headers, payload: body });
}

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json() as { error: { code: string; message: string; details?: unknown } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(response.body).not.toMatch(/\bat .+\.(ts|js):\d+/);
  return body.error;
}

function newLine(overrides: Partial<OrderLineIdentity> = {}): OrderLineIdentity {
  return { shop_id: creds.shop, order_id: bigId(), order_line_id: bigId(), personalization_id: `pers-${randomBytes(4).toString('hex')}`, ...overrides };
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function signalNames(workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((event) =>
    event.workflowExecutionSignaledEventAttributes?.signalName ? [event.workflowExecutionSignaledEventAttributes.signalName] : [],
  );
}

/** A persisted line with its asset really in the print bucket. */
async function persistedLine(bytes = makePng(32, 16)) {
  const line = newLine();
  const digest = sha256(bytes);
  const assetPath = `${line.shop_id}/${line.order_line_id}/${digest}.png`;
  const file = path.join(storageRoot, config.PRINT_BUCKET, assetPath);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  await registerOrderLines(database.db, [line]);
  await persistFinalAsset(database.db, line, {
    bucket: config.PRINT_BUCKET,
    path: assetPath,
    sha256: digest,
    size_bytes: bytes.length,
    content_type: 'image/png',
    width: 32,
    height: 16,
    source_bucket: config.PREVIEW_BUCKET,
    source_path: `${line.shop_id}/x.png`,
    job_id: 'job-1',
  });
  return { line, bytes, assetPath, digest };
}

async function failedLine() {
  const line = newLine();
  await registerOrderLines(database.db, [line]);
  await recordLineFailure(database.db, line, {
    failure_key: `test:${randomBytes(4).toString('hex')}`,
    attempt: 1,
    reason_code: 'preview_not_found',
    message: `no preview job for ${line.personalization_id}`,
    details: {},
  });
  return line;
}

const linePath = (line: { shop_id: string; order_line_id: string }, suffix = '') =>
  `/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}${suffix}`;

describe('POST /webhooks/shopify', () => {
  it('starts one workflow per personalized line, registers the lines at once and ignores the rest', async () => {
    const orderId = bigId();
    const [a, b, plain, nullProps, noProps, badId, both] = Array.from({ length: 7 }, bigId) as [string, string, string, string, string, string, string];
    const body = orderPayload(orderId, [
      { id: a, properties: personalized('pers-a', 'personalization_id') },
      { id: b, properties: personalized('pers-b', '_personalization_id') },
      { id: plain, properties: [{ name: 'Colour', value: 'red' }, { name: 'personalization_id', value: '' }] },
      { id: nullProps, properties: null },
      { id: noProps },
      { id: badId, properties: personalized('bad\u0000id') },
      { id: both, properties: [{ name: 'personalization_id', value: 'one' }, { name: '_personalization_id', value: 'two' }] },
    ]);

    const response = await webhook(app, body);
    expect(response.statusCode, response.body).toBe(200);
    const answer = response.json();
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
    for (const [line, personalizationId] of [[badId, 'bad\u001aid'], [both, 'one\ntwo']] as const) {
      const registered = await app.inject({ url: linePath({ shop_id: creds.shop, order_line_id: line }), headers: bearer(creds.operatorToken) });
      expect(registered.json()).toMatchObject({ personalization_id: personalizationId, status: 'processing' });
    }
    const ignoredLine = await app.inject({ url: linePath({ shop_id: creds.shop, order_line_id: plain }), headers: bearer(creds.operatorToken) });
    expect(ignoredLine.statusCode).toBe(404);

    // Redelivery and orders/paid: the same workflows, reported as duplicates.
    for (const topic of ['orders/create', 'orders/paid']) {
      const again = await webhook(app, body, { topic });
      expect(again.statusCode).toBe(200);
      expect(again.json().accepted).toEqual(acceptedAs('duplicate'));
    }
  });

  it('registers the lines of deliveries arriving together, orders/create beside orders/paid', async () => {
    const orders = Array.from({ length: 6 }, () => ({ orderId: bigId(), lines: [bigId(), bigId()] }));
    const deliveries = orders.flatMap(({ orderId, lines }) => {
      const body = orderPayload(orderId, lines.map((id) => ({ id, properties: personalized(`pers-${id}`) })));
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

  it('accepts the old secret during rotation and any content type', async () => {
    const line = bigId();
    const body = orderPayload(bigId(), [{ id: line, properties: personalized('pers-rotation') }]);
    const response = await webhook(app, body, { secret: creds.oldWebhookSecret, contentType: 'text/plain' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().accepted).toEqual([{ order_line_id: line, workflow_id: `${creds.shop}:${line}:fulfillment`, status: 'started' }]);
  });

  it('takes the id from admin_graphql_api_id when the numeric id is missing', async () => {
    const line = bigId();
    const body = `{"admin_graphql_api_id":"gid://shopify/Order/${bigId()}","line_items":[{"admin_graphql_api_id":"gid://shopify/LineItem/${line}","properties":[{"name":"_personalization_id","value":"pers-gid"}]}]}`;
    const response = await webhook(app, body);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().accepted[0].order_line_id).toBe(line);
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
            async start(input, next) {
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
    expect(logs.entries().some((entry) => entry['msg'] === 'intake saturated: delivery turned away for Shopify to retry')).toBe(true);

    release();
    await held;
    // Shopify's retry finds room.
    expect((await webhook(app, body)).json().accepted).toEqual([{ order_line_id: line, workflow_id: `${creds.shop}:${line}:fulfillment`, status: 'started' }]);
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

describe('POST /v1/previews', () => {
  const post = (payload: unknown, token = creds.merchantToken) =>
    app.inject({ method: 'POST', url: '/v1/previews', headers: bearer(token), payload: payload as object });

  it('records a job: 201 created, 200 unchanged, 201 updated, 409 on contradiction', async () => {
    const job = { shop_id: creds.shop, personalization_id: `pers-${bigId()}`, job_id: 'job-1', status: 'rendering' };
    const created = await post(job);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ ...job, bucket: config.PREVIEW_BUCKET, path: null, outcome: 'created' });
    const unchanged = await post(job);
    expect(unchanged.statusCode).toBe(200);
    expect(unchanged.json().outcome).toBe('unchanged');
    const ready = { ...job, status: 'ready', path: `${creds.shop}/p.png`, content_type: 'image/png' };
    const updated = await post(ready, creds.operatorToken);
    expect(updated.statusCode).toBe(201);
    expect(updated.json()).toMatchObject({ status: 'ready', bucket: config.PREVIEW_BUCKET, path: ready.path, outcome: 'updated' });
    expect((await post(ready)).statusCode).toBe(200);

    const otherPath = expectError(await post({ ...ready, path: `${creds.shop}/other.png` }), 409, 'preview_conflict');
    expect(otherPath.details).toMatchObject({ job_id: 'job-1', status: 'ready' });
    expectError(await post({ ...job, job_id: 'job-2' }), 409, 'preview_conflict');
    // Fields left out keep what is recorded; only another type contradicts it.
    const { content_type: _omitted, ...untyped } = ready;
    expect((await post(untyped)).statusCode).toBe(200);
    expectError(await post({ ...ready, content_type: 'image/webp' }), 409, 'preview_conflict');
  });

  it('keeps a job’s bucket from its first hand-off, and takes a type declared late', async () => {
    const job = { shop_id: creds.shop, personalization_id: `pers-${bigId()}`, job_id: 'job-b', status: 'rendering', bucket: 'generator-out' };
    expect((await post(job)).json()).toMatchObject({ bucket: 'generator-out', path: null });
    const { bucket: _bucket, ...ready } = { ...job, status: 'ready', path: `${creds.shop}/b.png` };
    const readied = await post(ready);
    expect(readied.statusCode).toBe(201);
    expect(readied.json()).toMatchObject({ status: 'ready', bucket: 'generator-out', content_type: null });
    const typed = await post({ ...ready, content_type: 'image/png' });
    expect(typed.statusCode).toBe(201);
    expect(typed.json()).toMatchObject({ bucket: 'generator-out', content_type: 'image/png', outcome: 'updated' });
  });

  it('keeps a job’s path and type through a post that leaves them out, and starts afresh when a failed job renders again', async () => {
    const job = { shop_id: creds.shop, personalization_id: `pers-${bigId()}`, job_id: 'job-r', status: 'rendering', path: `${creds.shop}/r.png`, content_type: 'image/png' };
    expect((await post(job)).statusCode).toBe(201);
    const { path: _path, content_type: _type, ...bare } = job;
    expect((await post(bare)).json()).toMatchObject({ outcome: 'unchanged', path: job.path, content_type: 'image/png' });
    // Null, as the route itself answers a field it does not know, is absent too.
    expect((await post({ ...bare, bucket: null, path: null, content_type: null })).json()).toMatchObject({ outcome: 'unchanged', path: job.path });
    expect((await post({ ...bare, status: 'failed' })).json()).toMatchObject({ status: 'failed', path: job.path, content_type: 'image/png' });
    const again = await post(bare);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ status: 'rendering', bucket: config.PREVIEW_BUCKET, path: null, content_type: null });
  });

  it('reads the body as JSON whatever Content-Type it comes with, or none', async () => {
    for (const contentType of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', undefined]) {
      const job = { shop_id: creds.shop, personalization_id: `p-${bigId()}`, job_id: 'j', status: 'rendering' };
      const headers = { ...bearer(creds.merchantToken), ...(contentType && { 'content-type': contentType }) };
      const response = await app.inject({ method: 'POST', url: '/v1/previews', headers, payload: JSON.stringify(job) });
      expect(response.statusCode, `${contentType}: ${response.body}`).toBe(201);
    }
    const notJson = await app.inject({ method: 'POST', url: '/v1/previews', headers: { ...bearer(creds.merchantToken), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'shop_id=x' });
    expectError(notJson, 400, 'invalid_request');
  });

  it('answers 400 for an invalid job or malformed JSON, and 403 for another shop', async () => {
    const invalid = expectError(
      await post({ shop_id: creds.shop, personalization_id: 'p', job_id: 'j', status: 'ready' }),
      400,
      'invalid_request',
    );
    expect(JSON.stringify(invalid.details)).toContain('path');
    expectError(await post({ shop_id: creds.shop, personalization_id: 'p', job_id: 'j', status: 'ready', path: '../../etc/passwd' }), 400, 'invalid_request');
    expectError(
      await app.inject({ method: 'POST', url: '/v1/previews', headers: { ...bearer(creds.merchantToken), 'content-type': 'application/json' }, payload: '{"shop_id":' }),
      400,
      'invalid_request',
    );
    expectError(
      await app.inject({ method: 'POST', url: '/v1/previews', headers: { ...bearer(creds.merchantToken), 'content-type': 'application/json' }, payload: 'x'.repeat(70_000) }),
      413,
      'payload_too_large',
    );
    expectError(await post({ shop_id: creds.shop, personalization_id: 'p', job_id: 'j', status: 'rendering' }, creds.otherMerchantToken), 403, 'forbidden');
  });

  it('signals preview_ready to every line waiting for the job once it is ready', async () => {
    const line = newLine();
    const workflowId = fulfillmentWorkflowId(line);
    const hook = await webhook(app, orderPayload(line.order_id, [{ id: line.order_line_id, properties: personalized(line.personalization_id) }]));
    expect(hook.json().accepted[0].status).toBe('started');
    await setLineWorking(database.db, line, 'waiting_for_preview');

    const job = { shop_id: creds.shop, personalization_id: line.personalization_id, job_id: 'job-w', status: 'rendering' };
    expect((await post(job)).statusCode).toBe(201);
    expect(await signalNames(workflowId)).toEqual([]);
    expect((await post({ ...job, status: 'ready', path: `${creds.shop}/w.png` })).statusCode).toBe(201);
    expect(await signalNames(workflowId)).toEqual(['preview_ready']);
  });

  it('also wakes a line still working, which may have read the job as rendering and not yet recorded that it waits', async () => {
    const line = newLine();
    const workflowId = fulfillmentWorkflowId(line);
    const hook = await webhook(app, orderPayload(line.order_id, [{ id: line.order_line_id, properties: personalized(line.personalization_id) }]));
    expect(hook.json().accepted[0].status).toBe('started');
    expect(await getOrderLineView(database.db, line)).toMatchObject({ status: 'processing' });
    const job = { shop_id: creds.shop, personalization_id: line.personalization_id, job_id: 'job-p', status: 'ready', path: `${creds.shop}/p.png` };
    expect((await post(job)).statusCode).toBe(201);
    expect(await signalNames(workflowId)).toEqual(['preview_ready']);
  });

  it('still records the job when Temporal is down (the waiting line polls)', async () => {
    const line = newLine();
    await registerOrderLines(database.db, [line]);
    await setLineWorking(database.db, line, 'waiting_for_preview');
    const response = await deadApp.inject({
      method: 'POST',
      url: '/v1/previews',
      headers: bearer(creds.operatorToken),
      payload: { shop_id: creds.shop, personalization_id: line.personalization_id, job_id: 'j', status: 'ready', path: 'a/b.png' },
    });
    expect(response.statusCode).toBe(201);
  });
});

describe('GET /v1/shops/:shop_id/order-lines/:order_line_id', () => {
  it('returns the status view; 404 for unknown, malformed and other shops’ lines', async () => {
    const { line, digest } = await persistedLine();
    const response = await app.inject({ url: linePath(line), headers: bearer(creds.merchantToken) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      shop_id: line.shop_id,
      order_id: line.order_id,
      order_line_id: line.order_line_id,
      workflow_id: fulfillmentWorkflowId(line),
      status: 'persisted',
      reason_code: null,
      final_asset: { bucket: config.PRINT_BUCKET, sha256: digest, content_type: 'image/png', width: 32, height: 16 },
    });
    expect((await app.inject({ url: linePath(line), headers: bearer(creds.operatorToken) })).statusCode).toBe(200);

    expectError(await app.inject({ url: linePath(line), headers: bearer(creds.otherMerchantToken) }), 404, 'not_found');
    expectError(await app.inject({ url: linePath(newLine()), headers: bearer(creds.merchantToken) }), 404, 'not_found');
    expectError(await app.inject({ url: linePath({ ...line, order_line_id: 'abc' }), headers: bearer(creds.operatorToken) }), 404, 'not_found');
    expectError(await app.inject({ url: linePath({ ...line, shop_id: 'evil.com' }), headers: bearer(creds.operatorToken) }), 404, 'not_found');
  });
});

describe('POST …/final-asset/signed-url and GET /files', () => {
  const sign = (line: { shop_id: string; order_line_id: string }, payload?: unknown, token = creds.merchantToken) =>
    app.inject({
      method: 'POST',
      url: linePath(line, '/final-asset/signed-url'),
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const get = (url: string, target = app, method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}) =>
    target.inject({ method, url: url.replace(PUBLIC_BASE, ''), headers });

  it('signs the persisted asset and serves its exact bytes until it expires', async () => {
    const { line, bytes, digest } = await persistedLine(makePng(40, 30));
    const response = await sign(line);
    expect(response.statusCode, response.body).toBe(200);
    const signed = response.json();
    expect(signed).toMatchObject({ sha256: digest, size_bytes: bytes.length, content_type: 'image/png' });
    expect(signed.url.startsWith(`${PUBLIC_BASE}/files/${config.PRINT_BUCKET}/`)).toBe(true);
    const expiresIn = (Date.parse(signed.expires_at) - Date.now()) / 1000;
    expect(expiresIn).toBeGreaterThan(config.SIGNED_URL_TTL_SECONDS - 5);
    expect(expiresIn).toBeLessThanOrEqual(config.SIGNED_URL_TTL_SECONDS);

    clock = Date.now();
    const file = await get(signed.url);
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(bytes)).toBe(true);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.headers['content-length']).toBe(String(bytes.length));
    expect(file.headers['etag']).toBe(`"${digest}"`);
    expect(file.headers['content-disposition']).toBeUndefined();

    const head = await get(signed.url, app, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect(head.rawPayload.length).toBe(0);
    expect((await get(signed.url, app, 'GET', { 'if-none-match': `"${digest}"` })).statusCode).toBe(304);

    // Expired: the same URL a second after expires_at.
    clock = Date.parse(signed.expires_at) + 1_000;
    expectError(await get(signed.url), 410, 'url_expired');
    clock = Date.now();
  });

  it('streams an asset larger than one read with its exact bytes and length', async () => {
    const { line, bytes } = await persistedLine(Buffer.concat([makePng(32, 16), randomBytes(1536 * 1024)]));
    const file = await get((await sign(line)).json().url);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-length']).toBe(String(bytes.length));
    expect(file.rawPayload.equals(bytes)).toBe(true);
  });

  it('serves a single range of the asset, so a supplier can resume a download', async () => {
    const { line, bytes, digest } = await persistedLine(Buffer.concat([makePng(32, 16), randomBytes(1536 * 1024)]));
    const { url } = (await sign(line)).json();
    const size = bytes.length;
    const part = async (range: string, headers: Record<string, string> = {}) => get(url, app, 'GET', { range, ...headers });

    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      ['bytes=-10', size - 10, size - 1],
      [`bytes=1000-${size + 1000}`, 1000, size - 1],
    ] as const) {
      const response = await part(range);
      expect(response.statusCode, range).toBe(206);
      expect(response.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers['content-length']).toBe(String(end - start + 1));
      expect(response.headers['etag']).toBe(`"${digest}"`);
      expect(response.rawPayload.equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
    // Resumed with the ETag it started with: the rest; the object is not that one: all of it.
    expect((await part('bytes=100-', { 'if-range': `"${digest}"` })).statusCode).toBe(206);
    const changed = await part('bytes=100-', { 'if-range': `"${'0'.repeat(64)}"` });
    expect(changed.statusCode).toBe(200);
    expect(changed.rawPayload.equals(bytes)).toBe(true);
    expect((await part('bytes=100-', { 'if-range': 'Wed, 21 Oct 2015 07:28:00 GMT' })).statusCode).toBe(200);
    // Several ranges or a malformed one: the whole object, as a server may answer.
    for (const range of ['bytes=0-1,5-6', 'bytes=9-3', 'lines=1-2']) {
      const whole = await part(range);
      expect(whole.statusCode, range).toBe(200);
      expect(whole.headers['content-length']).toBe(String(size));
    }
    const beyond = expectError(await part(`bytes=${size}-`), 416, 'range_not_satisfiable');
    expect(beyond.details).toEqual({ size_bytes: size });
    expect((await part(`bytes=${size}-`)).headers['content-range']).toBe(`bytes */${size}`);
    expect((await part('bytes=-0')).statusCode).toBe(416);

    const head = await get(url, app, 'HEAD', { range: 'bytes=0-9' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.headers['content-length']).toBe(String(size));
  });

  it('names the download <order_line_id>.png and honours expires_in', async () => {
    const { line } = await persistedLine();
    const response = await sign(line, { expires_in: 60, download: true }, creds.operatorToken);
    expect(response.statusCode).toBe(200);
    const { url, expires_at } = response.json();
    expect(new URL(url).searchParams.get('download')).toBe(`${line.order_line_id}.png`);
    expect(Date.parse(expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
    const file = await get(url);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-disposition']).toBe(`attachment; filename="${line.order_line_id}.png"`);
  });

  it('refuses any altered URL with 403 invalid_signature, odd paths included, never a 500', async () => {
    const { line } = await persistedLine();
    const { url } = (await sign(line, { download: true })).json();
    const parsed = new URL(url);
    const variants: string[] = [];
    const tweak = (change: (u: URL) => void) => {
      const copy = new URL(url);
      change(copy);
      variants.push(`${copy.pathname}${copy.search}`);
    };
    tweak((u) => u.searchParams.set('expires', String(Number(parsed.searchParams.get('expires')) + 3600)));
    tweak((u) => u.searchParams.set('expires', String(Number(parsed.searchParams.get('expires')) - 3600)));
    tweak((u) => u.searchParams.set('download', 'other.png'));
    tweak((u) => u.searchParams.delete('download'));
    tweak((u) => u.searchParams.delete('signature'));
    tweak((u) => u.searchParams.set('signature', `${parsed.searchParams.get('signature')!.slice(0, -2)}AA`));
    tweak((u) => (u.pathname = u.pathname.replace(config.PRINT_BUCKET, config.PREVIEW_BUCKET)));
    tweak((u) => (u.pathname = u.pathname.replace('.png', '.jpg')));
    tweak((u) => u.searchParams.append('cache', 'bust'));
    tweak((u) => u.searchParams.append('signature', parsed.searchParams.get('signature')!));
    for (const variant of variants) expectError(await get(variant), 403, 'invalid_signature');

    const query = parsed.search;
    for (const odd of [
      `/files/${config.PRINT_BUCKET}/../../../etc/passwd`,
      `/files/${config.PRINT_BUCKET}/%2e%2e/%2e%2e/etc/passwd`,
      `/files/${config.PRINT_BUCKET}/a%00b.png`,
      `/files/${config.PRINT_BUCKET}/..%5c..%5cetc%5cpasswd`,
      `/files/${config.PRINT_BUCKET}//etc/passwd`,
      `/files/..%2f..%2fetc/passwd`,
      '/files/',
      '/files/%zz',
    ]) {
      const response = await app.inject({ url: `${odd}${query}` });
      expect(response.statusCode, `${odd}: ${response.body}`).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, odd).toBeLessThan(500);
      expect(response.json().error.code).toMatch(/^(invalid_signature|not_found|invalid_request)$/);
    }
  });

  it('answers 404 for a validly signed object that does not exist', async () => {
    const url = signLocalUrl(PUBLIC_BASE, { ref: { bucket: config.PRINT_BUCKET, path: 'nope/missing.png' }, expires: Math.floor(Date.now() / 1000) + 60 }, creds.signingSecret);
    expectError(await get(url), 404, 'not_found');
    const escape = signLocalUrl(PUBLIC_BASE, { ref: { bucket: config.PRINT_BUCKET, path: 'a/..b.png' }, expires: Math.floor(Date.now() / 1000) + 60 }, creds.signingSecret);
    expectError(await get(escape), 404, 'not_found');
  });

  it('answers 409 asset_missing when the recorded asset has gone from its bucket: an operator must restore it', async () => {
    const { line, assetPath } = await persistedLine();
    await rm(path.join(storageRoot, config.PRINT_BUCKET, assetPath));
    expectError(await sign(line), 409, 'asset_missing');
  });

  it('answers 503 storage_unavailable when the print bucket has gone: storage set up wrong, not a lost asset', async () => {
    const line = newLine();
    await registerOrderLines(database.db, [line]);
    await persistFinalAsset(database.db, line, {
      bucket: 'gone-print-bucket',
      path: `${line.shop_id}/${line.order_line_id}/${'0'.repeat(64)}.png`,
      sha256: '0'.repeat(64),
      size_bytes: 1,
      content_type: 'image/png',
      width: 1,
      height: 1,
      source_bucket: config.PREVIEW_BUCKET,
      source_path: `${line.shop_id}/x.png`,
      job_id: 'job-1',
    });
    expectError(await sign(line), 503, 'storage_unavailable');
  });

  it('answers 409 asset_not_ready, 409 fulfillment_failed with guidance, 404 and 400', async () => {
    const processing = newLine();
    await registerOrderLines(database.db, [processing]);
    expect(expectError(await sign(processing), 409, 'asset_not_ready').details).toEqual({ status: 'processing' });
    await setLineWorking(database.db, processing, 'waiting_for_preview');
    expectError(await sign(processing), 409, 'asset_not_ready');

    const failed = await failedLine();
    const failure = expectError(await sign(failed), 409, 'fulfillment_failed');
    expect(failure.details).toEqual({
      reason_code: 'preview_not_found',
      reason_message: `no preview job for ${failed.personalization_id}`,
      recovery_guidance: recoveryGuidance('preview_not_found'),
    });

    const { line } = await persistedLine();
    expectError(await sign(line, undefined, creds.otherMerchantToken), 404, 'not_found');
    expectError(await sign(newLine()), 404, 'not_found');
    expectError(await sign(line, { expires_in: 59 }), 400, 'invalid_request');
    expectError(await sign(line, { expires_in: 604_801 }), 400, 'invalid_request');
    expectError(await sign(line, { expires_in: 'soon' }), 400, 'invalid_request');
    expectError(await sign(line, { download: true, extra: 1 }), 400, 'invalid_request');
    // No body, and an empty JSON body, both mean the defaults.
    expect((await sign(line)).statusCode).toBe(200);
    const empty = await app.inject({
      method: 'POST',
      url: linePath(line, '/final-asset/signed-url'),
      headers: { ...bearer(creds.merchantToken), 'content-type': 'application/json' },
      payload: '',
    });
    expect(empty.statusCode, empty.body).toBe(200);
  });
});

describe('POST …/retry', () => {
  const retry = (line: { shop_id: string; order_line_id: string }, target = app, token = creds.merchantToken) =>
    target.inject({ method: 'POST', url: linePath(line, '/retry'), headers: bearer(token) });

  it('starts a new run when the failed line has no workflow any more', async () => {
    const line = await failedLine();
    const workflowId = fulfillmentWorkflowId(line);
    expect(await workflowExists(workflowId)).toBe(false);
    const response = await retry(line);
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toEqual({ workflow_id: workflowId, status: 'retry_requested' });
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
  });

  it('signals retry to a running workflow', async () => {
    const line = newLine();
    await webhook(app, orderPayload(line.order_id, [{ id: line.order_line_id, properties: personalized(line.personalization_id) }]));
    await recordLineFailure(database.db, line, { failure_key: 'k1', attempt: 1, reason_code: 'asset_missing', message: 'gone', details: {} });
    const response = await retry(line, app, creds.operatorToken);
    expect(response.statusCode, response.body).toBe(202);
    expect(await signalNames(fulfillmentWorkflowId(line))).toEqual(['retry']);
  });

  it('answers 409 not_failed, 404 for unknown and other shops, 503 when Temporal is down', async () => {
    const { line } = await persistedLine();
    expect(expectError(await retry(line), 409, 'not_failed').details).toEqual({ status: 'persisted' });
    const failed = await failedLine();
    expectError(await retry(failed, app, creds.otherMerchantToken), 404, 'not_found');
    expectError(await retry(newLine()), 404, 'not_found');
    expectError(await retry(failed, deadApp), 503, 'temporal_unavailable');
  });
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
    const document = response.json();
    expect(document.openapi).toMatch(/^3\.1/);
    const routes = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([route, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`),
    );
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
    const webhookDoc = document.paths['/webhooks/shopify'].post;
    expect(Object.keys(webhookDoc.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413', '503']));
    const signDoc = document.paths['/v1/shops/{shop_id}/order-lines/{order_line_id}/final-asset/signed-url'].post;
    expect(signDoc.requestBody.required).toBe(false);
    const previewDoc = document.paths['/v1/previews'].post;
    expect(previewDoc.security).toEqual([{ bearerAuth: [] }]);
    expect(previewDoc.requestBody.content['application/json'].schema.required).toEqual(
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

describe('logs', () => {
  it('carry correlation keys and never a token, secret or signature', async () => {
    const entries = logs.entries();
    const started = entries.find((entry) => entry['msg'] === 'fulfillment started');
    expect(started).toMatchObject({
      shop_id: creds.shop,
      webhook_id: expect.any(String),
      order_id: expect.any(String),
      order_line_id: expect.any(String),
      workflow_id: expect.any(String),
      request_id: expect.any(String),
    });
    const completed = entries.filter((entry) => entry['msg'] === 'request completed' && entry['shop_id'] === creds.shop);
    expect(completed.length).toBeGreaterThan(0);
    // A delivery's own line names its order too.
    expect(completed.find((entry) => entry['request_id'] === started!['request_id'])).toMatchObject({ order_id: started!['order_id'] });
    // One line per request, standing on its own: what was asked, what was answered, how fast.
    expect(completed[0]).toMatchObject({ req: { method: expect.any(String), url: expect.any(String) }, res: { statusCode: expect.any(Number) }, responseTime: expect.any(Number) });
    expect(entries.some((entry) => entry['msg'] === 'incoming request')).toBe(false);

    const text = logs.text;
    for (const secret of [creds.operatorToken, creds.merchantToken, creds.otherMerchantToken, creds.webhookSecret, creds.oldWebhookSecret, creds.signingSecret]) {
      expect(text).not.toContain(secret);
    }
    expect(logs.lines.find((line) => /signature=(?!\[redacted\])/.test(line))).toBeUndefined();
    const bearerLine = logs.lines.find((line) => /Bearer [A-Za-z0-9_]{10,}/.test(line));
    expect(bearerLine).toBeUndefined();
  });
});
