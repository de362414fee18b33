import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../src/intake/shopify.js';
import { ERROR_CODES } from '../../src/services/errors.js';
import type { Config } from '../../src/config/config.js';
import { persistFinalAsset } from '../../src/db/repositories/final-assets.js';
import { registerOrderLines } from '../../src/db/repositories/order-lines.js';
import { signLocalUrl } from '../../src/storage/local/local-signature.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { buildTestApp } from '../support/capture-app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makePng } from '../support/images.js';
import { faultConfig, faultCredentials, newLine, orderBody, PREVIEW_BUCKET, PRINT_BUCKET, sha256, shopifyHmac, shopifyId, uniqueShop } from './fixtures.js';

/**
 * Property-based tests of every route with hostile input (fast-check, through `app.inject`):
 * random and truncated JSON, wrong types, huge arrays, deep nesting, unicode, `../`, `%2e%2e`,
 * NUL and backslashes in ids, paths, tokens and file names, oversized bodies, wrong content
 * types, missing and duplicated headers. The answer is always a 2xx or a 4xx with the error
 * envelope, never a 5xx; no workflow starts without a valid HMAC; no file is served from
 * outside its bucket. The app talks to the run's real Temporal dev server on a queue of its own.
 */
const creds = faultCredentials();
const merchantToken = `mt_${randomBytes(18).toString('hex')}`;
const shop = uniqueShop('hostile');
const otherShop = uniqueShop('hostile-other');
const SECRET_CONTENT = `outside every bucket ${randomBytes(16).toString('hex')}`;

let database: TestDatabase;
let base: string;
let storage: LocalStorage;
let client: Client;
let app: FastifyInstance;
let config: Config;
let starts = 0;
const persistedLine = newLine(shop);
const failedLine = newLine(shop);
let assetPath: string;
const png = makePng(12, 12);

beforeAll(async () => {
  database = await createTestDatabase();
  base = await mkdtemp(path.join(os.tmpdir(), 'printready-hostile-'));
  const root = path.join(base, 'storage');
  config = faultConfig(creds, {
    DATA_DIR: base,
    API_TOKENS: `${creds.operatorToken}=*,${merchantToken}=${shop}`,
    LOG_LEVEL: 'info',
  });
  storage = new LocalStorage({ root, publicBaseUrl: 'http://files.printready.test', signingSecret: creds.signingSecret });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  // Things that must never be served: a file beside the storage root and one beside the
  // buckets, and links inside a bucket that lead to them.
  await writeFile(path.join(base, 'secret.txt'), SECRET_CONTENT);
  await writeFile(path.join(root, 'secret.txt'), SECRET_CONTENT);
  await symlink(path.join(base, 'secret.txt'), path.join(root, PRINT_BUCKET, 'escape.png'));
  await symlink(base, path.join(root, PRINT_BUCKET, 'escape-dir'));

  // One persisted line whose asset exists, one failed line.
  assetPath = `${shop}/${persistedLine.order_line_id}/${sha256(png)}.png`;
  await mkdir(path.join(root, PRINT_BUCKET, shop, persistedLine.order_line_id), { recursive: true });
  await writeFile(path.join(root, PRINT_BUCKET, assetPath), png);
  await registerOrderLines(database.db, [persistedLine, failedLine]);
  await persistFinalAsset(database.db, persistedLine, {
    bucket: PRINT_BUCKET,
    path: assetPath,
    sha256: sha256(png),
    size_bytes: png.length,
    content_type: 'image/png',
    width: 12,
    height: 12,
    source_bucket: PREVIEW_BUCKET,
    source_path: 'x.png',
    job_id: 'job-1',
  });

  client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  // Every start the app makes is counted; no worker polls this queue, so nothing runs.
  const start = client.workflow.start.bind(client.workflow);
  client.workflow.start = ((...args: Parameters<typeof start>) => {
    starts += 1;
    return start(...args);
  }) as typeof client.workflow.start;
  app = await buildTestApp({
    config,
    db: database.db,
    storage,
    temporal: { client, taskQueue: `hostile-${randomBytes(6).toString('hex')}` },
    telemetry: new NoopTelemetry(),
    logs: { level: 'info', name: 'api-hostile' },
    localSigningSecret: creds.signingSecret,
    // Short enough for a slow request to time out within the test; only that test listens.
    requestTimeoutMs: 1_500,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await client?.connection.close();
  await database?.close();
  if (base) await rm(base, { recursive: true, force: true });
});

const STACK_TRACE = /\bat .+\.(?:ts|js|mjs|cjs):\d+/;

/** A 4xx with exactly the error envelope, or a success; never a 5xx, never a stack or a secret. */
/** Statuses seen by the current test, reported at its end: the properties reach deep, not just a 400. */
const seen = new Map<number, number>();

function expectSafe(response: LightMyRequestResponse, allowed: (status: number) => boolean = () => false): void {
  seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
  const context = `${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, context).toBeLessThan(500);
  expect(response.body, context).not.toMatch(STACK_TRACE);
  expect(response.body).not.toContain(SECRET_CONTENT);
  if (response.statusCode >= 200 && response.statusCode < 300 && allowed(response.statusCode)) return;
  if (response.statusCode === 304) return;
  expect(response.statusCode, context).toBeGreaterThanOrEqual(400);
  // A HEAD answer has the status and headers of the GET one, and no body.
  if (response.raw.req.method === 'HEAD') return;
  expect(response.headers['content-type'], context).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as { error: { code: string; message: string; details?: unknown } };
  expect(Object.keys(body), context).toEqual(['error']);
  expect(Object.keys(body.error).sort(), context).toEqual(['code', 'details', 'message']);
  expect(ERROR_CODES, context).toContain(body.error.code);
  expect(typeof body.error.message, context).toBe('string');
}

// Arbitraries -------------------------------------------------------------------------------

/** Text as an HTTP header value can carry it: visible ASCII, spaces and latin-1 bytes. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 300 });

const nasty = fc.constantFrom(
  '../',
  '..',
  '%2e%2e',
  '%2e%2e%2f',
  '..%2f',
  '%2F',
  '%00',
  '\u0000',
  '\\',
  '..\\..\\',
  '/',
  '//',
  '.',
  '%',
  '%zz',
  '?',
  '#',
  ' ',
  'é',
  '😀',
  '\u202e',
  '\uffff',
  'print-assets',
  'previews',
  'secret.txt',
  'escape.png',
  'escape-dir',
  shop,
  otherShop,
  persistedLine.order_line_id,
  '99999999999999999999999',
  'a'.repeat(3000),
);

/** Segments built from hostile pieces and random text. */
const hostileText = fc
  .array(fc.oneof(nasty, fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 10 })), { maxLength: 6 })
  .map((parts) => parts.join(''));

/** A URL path segment: raw when it is plain ASCII, percent-encoded otherwise (or always). */
const segment = fc.tuple(hostileText, fc.boolean()).map(([text, encode]) =>
  encode || /[^\x21-\x7e]/.test(text) ? encodeURIComponent(text) : text,
);

const deepNesting = fc.integer({ min: 1_000, max: 200_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));
const hugeArray = fc.integer({ min: 10_000, max: 200_000 }).map((length) => `{"id":1,"line_items":[${'1,'.repeat(length)}1]}`);

/** Bodies of every kind: JSON of any shape, orders with holes, truncated orders, bytes, text. */
const validOrder = fc.array(fc.constant(null), { minLength: 1, maxLength: 5 }).map((lines) =>
  orderBody(shopifyId(), lines.map(() => ({ order_line_id: shopifyId(), personalization_id: `pers-${randomBytes(3).toString('hex')}` }))),
);
const hostileValue = fc.oneof(fc.jsonValue(), hostileText, fc.constantFrom(null, true, 0, -1, 1e308, '', [], {}));
const brokenOrder = fc.record(
  {
    id: fc.oneof(fc.constant(shopifyId()), hostileValue),
    admin_graphql_api_id: fc.oneof(hostileValue, fc.constant('gid://shopify/Order/../1')),
    line_items: fc.oneof(
      hostileValue,
      fc.array(
        fc.record(
          {
            id: fc.oneof(fc.constant(shopifyId()), hostileValue),
            properties: fc.oneof(
              hostileValue,
              fc.array(fc.record({ name: fc.oneof(fc.constantFrom('personalization_id', '_personalization_id'), hostileValue), value: hostileValue }), { maxLength: 4 }),
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 8 },
      ),
    ),
  },
  { requiredKeys: [] },
).map((order) => JSON.stringify(order));
const hostileBody = fc.oneof(
  fc.json({ maxDepth: 6 }),
  brokenOrder,
  validOrder,
  fc.tuple(validOrder, fc.nat()).map(([body, cut]) => body.slice(0, cut % body.length)),
  fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 500 }),
  deepNesting,
  hugeArray,
);

/** Mostly JSON, so the properties get past the parser; often anything else, or none. */
const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 5 },
  {
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '*/*',
      'application/json; charset=???',
    ),
    weight: 2,
  },
  { arbitrary: headerText, weight: 1 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);

type Headers = Record<string, string | string[]>;

/** Shopify's headers, each possibly missing, duplicated, or replaced by hostile text. */
const webhookHeaders = (hmac: fc.Arbitrary<string | string[] | undefined>) =>
  fc.record({
    'x-shopify-hmac-sha256': hmac,
    'x-shopify-topic': fc.option(fc.oneof(fc.constantFrom('orders/create', 'orders/paid', 'orders/updated', 'ORDERS/CREATE'), headerText), { nil: undefined }),
    'x-shopify-shop-domain': fc.option(fc.oneof(fc.constant(shop), fc.constant<string[]>([shop, otherShop]), headerText), { nil: undefined }),
    'x-shopify-webhook-id': fc.option(fc.oneof(headerText, fc.constant('x'.repeat(500))), { nil: undefined }),
    'content-type': contentType,
  });

function withoutUndefined(headers: Record<string, string | string[] | undefined>): Headers {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Headers;
}

// Properties --------------------------------------------------------------------------------

describe('hostile input', () => {
  beforeEach(() => seen.clear());
  afterEach(({ task }) => {
    console.log(`${task.name}: statuses ${JSON.stringify(Object.fromEntries([...seen].sort(([a], [b]) => a - b)))}`);
  });

  it('never starts a workflow without a valid HMAC, and answers 4xx', async () => {
    const before = starts;
    const wrongHmac = (body: string | Buffer) =>
      fc.oneof(
        fc.constant(undefined),
        fc.constant(''),
        headerText,
        fc.constant(shopifyHmac(body, 'whsec_not_the_secret')),
        fc.constant(shopifyHmac(`${body.toString()} `, creds.webhookSecret)),
        fc.constant<string[]>([shopifyHmac(body, creds.webhookSecret), shopifyHmac(body, creds.webhookSecret)]),
        fc.constant(shopifyHmac(body, creds.webhookSecret).toLowerCase() + '='),
        fc.constant(Buffer.from(shopifyHmac(body, creds.webhookSecret), 'base64').toString('hex')),
      );
    await fc.assert(
      fc.asyncProperty(
        hostileBody.chain((body) => fc.tuple(fc.constant(body), webhookHeaders(wrongHmac(body)))),
        async ([body, headers]) => {
          const response = await app.inject({ method: 'POST', url: '/webhooks/shopify', headers: withoutUndefined(headers), payload: body });
          expectSafe(response);
          expect([401, 413, 415], `${response.statusCode} ${response.body}`).toContain(response.statusCode);
        },
      ),
      { numRuns: 300 },
    );
    expect(starts - before).toBe(0);
  });

  it('answers a signed but hostile delivery with 200 or 4xx, starting only valid lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileBody.chain((body) => fc.tuple(fc.constant(body), webhookHeaders(fc.constant(shopifyHmac(body, creds.webhookSecret))))),
        async ([body, headers]) => {
          const before = starts;
          const response = await app.inject({ method: 'POST', url: '/webhooks/shopify', headers: withoutUndefined(headers), payload: body });
          expectSafe(response, (status) => status === 200);
          if (response.statusCode === 200) {
            const answer = JSON.parse(response.body) as { accepted: Array<{ order_line_id: string; workflow_id: string; status: string }> };
            // Started only what was accepted, for the shop that signed, with the contract's ids.
            expect(starts - before).toBe(answer.accepted.length);
            for (const line of answer.accepted) {
              expect(line.order_line_id).toMatch(/^[1-9][0-9]{0,19}$/);
              expect(line.workflow_id).toBe(`${shop}:${line.order_line_id}:fulfillment`);
            }
          } else {
            expect(starts - before).toBe(0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses oversized bodies with 413 before anything else', async () => {
    const big = Buffer.alloc(WEBHOOK_BODY_LIMIT + 1, 0x20);
    const webhook = await app.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/create', 'x-shopify-shop-domain': shop, 'x-shopify-hmac-sha256': shopifyHmac(big, creds.webhookSecret) },
      payload: big,
    });
    expectSafe(webhook);
    expect(webhook.statusCode).toBe(413);
    const preview = await app.inject({
      method: 'POST',
      url: '/v1/previews',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${creds.operatorToken}` },
      payload: `{"shop_id":"${shop}","pad":"${'x'.repeat(100_000)}"}`,
    });
    expectSafe(preview);
    expect(preview.statusCode).toBe(413);
  });

  it('answers requests the HTTP parser refuses with the envelope, then closes the connection', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    /** Sends raw bytes and reads the answer until the server closes the connection. */
    const exchange = (bytes: string) =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('error', reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error('the server kept the connection open')));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      });
    const answers = [
      { status: 431, code: 'headers_too_large', raw: await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`) },
      { status: 400, code: 'invalid_request', raw: await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n') },
      { status: 400, code: 'invalid_request', raw: await exchange('NOT AN HTTP REQUEST\r\n\r\n') },
      // Headers that never end: a slow-loris client.
      { status: 408, code: 'request_timeout', raw: await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\n') },
    ];
    for (const { status, code, raw } of answers) {
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      expect(head, raw).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head.toLowerCase()).toContain('content-type: application/json');
      expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String), details: null } });
      expect(ERROR_CODES).toContain(code);
    }
  });

  it('takes a signed order with more personalized lines than one SQL statement can hold', async () => {
    // Shopify's body limit leaves room for tens of thousands of line items. Starts are stubbed
    // here: the point is the intake's own handling, not 12,000 workflows on the shared server.
    const lines = Array.from({ length: 12_000 }, () => ({ order_line_id: shopifyId(), personalization_id: `p${randomBytes(3).toString('hex')}` }));
    const items = lines.map((line) => `{"id":${line.order_line_id},"properties":[{"name":"_personalization_id","value":"${line.personalization_id}"}]}`);
    const body = `{"id":${shopifyId()},"line_items":[${items.join(',')}]}`;
    expect(body.length).toBeLessThan(WEBHOOK_BODY_LIMIT);
    const start = client.workflow.start;
    client.workflow.start = (async () => undefined) as unknown as typeof client.workflow.start;
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/webhooks/shopify',
        headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/create', 'x-shopify-shop-domain': shop, 'x-shopify-hmac-sha256': shopifyHmac(body, creds.webhookSecret) },
        payload: body,
      });
      expectSafe(response, (status) => status === 200);
      expect(response.statusCode).toBe(200);
      expect((JSON.parse(response.body) as { accepted: unknown[] }).accepted).toHaveLength(lines.length);
    } finally {
      client.workflow.start = start;
    }
    const registered = await database.db.selectFrom('order_lines').select('order_line_id').where('order_line_id', 'in', lines.slice(0, 100).map((line) => line.order_line_id)).execute();
    expect(registered).toHaveLength(100);
  });

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
      fc.tuple(segment, segment).map(([s, l]) => ({ method: 'POST' as const, url: `/v1/shops/${s}/order-lines/${l}/final-asset/signed-url` })),
      fc.tuple(segment, segment).map(([s, l]) => ({ method: 'POST' as const, url: `/v1/shops/${s}/order-lines/${l}/retry` })),
      fc.constantFrom(persistedLine, failedLine).chain((line) =>
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
        fc.constantFrom('{"expires_in":60}', '{"expires_in":604800,"download":true}', '{"expires_in":1e400}', '{"__proto__":{"admin":true}}', 'null', ''),
        deepNesting,
      ),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(route, token, body, contentType, async (target, authorization, payload, type) => {
        const headers = withoutUndefined({ authorization, 'content-type': type });
        const response = await app.inject({ ...target, headers, ...(payload === undefined ? {} : { payload }) });
        expectSafe(response, (status) => status === 200 || status === 202);
      }),
      { numRuns: 400 },
    );
  });

  it('answers hostile preview hand-offs with 2xx or a 4xx envelope', async () => {
    const job = fc.record(
      {
        shop_id: fc.oneof(fc.constant(shop), fc.constant(otherShop), hostileValue, hostileText),
        personalization_id: fc.oneof(hostileText, hostileValue),
        job_id: fc.oneof(fc.constantFrom('job-1', 'job-2'), hostileText, hostileValue),
        status: fc.oneof(fc.constantFrom('ready', 'rendering', 'failed'), hostileValue),
        bucket: fc.oneof(fc.constantFrom(PREVIEW_BUCKET, PRINT_BUCKET, '..', 'Previews', '../print-assets'), hostileText, hostileValue),
        path: fc.oneof(fc.constantFrom('../../secret.txt', '../secret.txt', '/etc/passwd', 'a/../../b.png', 'a\\..\\b.png', 'a/%2e%2e/b.png', 'a\u0000.png', 'a//b.png'), hostileText, hostileValue),
        content_type: fc.oneof(fc.constantFrom('image/png', 'image/svg+xml'), hostileValue),
      },
      { requiredKeys: [] },
    );
    // Valid but for one hostile field: what reaches the database and the storage key checks.
    const nearlyValid = fc
      .tuple(
        fc.record({
          shop_id: fc.constantFrom(shop, otherShop),
          personalization_id: fc.oneof(fc.constant(`pers-${randomBytes(3).toString('hex')}`), hostileText),
          job_id: fc.constantFrom('job-1', 'job-2'),
          status: fc.constantFrom('ready', 'rendering', 'failed'),
          bucket: fc.constantFrom(PREVIEW_BUCKET, PRINT_BUCKET),
          path: fc.constant(`${shop}/preview.png`),
          content_type: fc.constant('image/png'),
        }),
        fc.constantFrom('personalization_id', 'job_id', 'bucket', 'path', 'shop_id', 'content_type'),
        fc.oneof(hostileText, hostileValue, fc.constantFrom('../../secret.txt', 'a/../b.png', 'a\\b.png', 'a/%2e%2e/b.png', 'a\u0000.png')),
      )
      .map(([valid, field, value]) => JSON.stringify({ ...valid, [field]: value }));
    const payload = fc.oneof(
      { arbitrary: nearlyValid, weight: 3 },
      { arbitrary: job.map((value) => JSON.stringify(value)), weight: 2 },
      { arbitrary: fc.json({ maxDepth: 4 }), weight: 1 },
      { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
      { arbitrary: deepNesting, weight: 1 },
      { arbitrary: hugeArray, weight: 1 },
    );
    const token = fc.constantFrom(creds.operatorToken, merchantToken);
    await fc.assert(
      fc.asyncProperty(payload, token, contentType, async (body, bearer, type) => {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/previews',
          headers: withoutUndefined({ authorization: `Bearer ${bearer}`, 'content-type': type }),
          payload: body,
        });
        expectSafe(response, (status) => status === 200 || status === 201);
        if (response.statusCode < 300) {
          // What was recorded is a path that stays inside its bucket.
          const recorded = JSON.parse(response.body) as { path: string | null };
          if (recorded.path !== null) expect(recorded.path.split('/')).not.toContain('..');
        }
      }),
      { numRuns: 250 },
    );
  });

  it('lets a merchant hand off only its own shop’s objects as previews', async () => {
    // Otherwise: name another shop's object, order it, and read the copy through a signed URL.
    const post = (token: string, objectPath: string, bucket = PREVIEW_BUCKET) =>
      app.inject({
        method: 'POST',
        url: '/v1/previews',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: { shop_id: shop, personalization_id: `pers-${randomBytes(4).toString('hex')}`, job_id: 'job-x', status: 'ready', bucket, path: objectPath },
      });
    for (const stolen of [`${otherShop}/preview.png`, assetPath.replace(shop, otherShop), `${shop}x/p.png`, 'preview.png']) {
      for (const bucket of [PREVIEW_BUCKET, PRINT_BUCKET]) {
        const refused = await post(merchantToken, stolen, bucket);
        expectSafe(refused);
        expect(refused.statusCode, stolen).toBe(403);
      }
    }
    expect((await post(merchantToken, `${shop}/preview.png`)).statusCode).toBe(201);
    // An operator (scope *) hands off for every shop, wherever the generator keeps its files.
    expect((await post(creds.operatorToken, `renders/${otherShop}.png`)).statusCode).toBe(201);
  });

  it('never serves a file from outside its bucket, however the URL is made', async () => {
    const expires = String(Math.floor(Date.now() / 1000) + 3600);
    const good = signLocalUrl('', { ref: { bucket: PRINT_BUCKET, path: assetPath }, expires: Number(expires) }, creds.signingSecret);
    const goodQuery = good.slice(good.indexOf('?'));
    const targets = fc.oneof(
      // Forged: hostile paths and queries, signed with nothing or with junk.
      fc.tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.option(headerText, { nil: undefined })).map(
        ([parts, query]) => `/files/${parts.join('/')}${query === undefined ? '' : `?${encodeURI(query)}`}`,
      ),
      // A genuine query on another path (the signature covers the path).
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/files/${parts.join('/')}${goodQuery}`),
      // Genuinely signed URLs for hostile object refs: signing must not be what keeps them out.
      fc.tuple(
        fc.oneof(fc.constantFrom(PRINT_BUCKET, PREVIEW_BUCKET, '..', '.', 'storage', ''), hostileText),
        fc.oneof(fc.constantFrom('escape.png', 'escape-dir/secret.txt', '../secret.txt', '../../secret.txt', 'x/../../secret.txt', '%2e%2e/secret.txt', 'escape-dir/storage/secret.txt'), hostileText),
      ).map(([bucket, objectPath]) => signLocalUrl('', { ref: { bucket, path: objectPath }, expires: Number(expires) }, creds.signingSecret)),
      // The genuine object, signed, with hostile attachment file names.
      fc
        .oneof(hostileText, fc.constantFrom('../../etc/passwd', 'a\r\nSet-Cookie: x=1', 'a";b.png', 'x\u0000.png', '..\\..\\boot.ini'))
        .map((download) => signLocalUrl('', { ref: { bucket: PRINT_BUCKET, path: assetPath }, expires: Number(expires), download }, creds.signingSecret)),
    );
    let served = 0;
    await fc.assert(
      fc.asyncProperty(targets, fc.constantFrom('GET', 'HEAD'), async (url, method) => {
        const response = await app.inject({ method: method as 'GET', url });
        expectSafe(response, (status) => status === 200);
        if (response.statusCode === 200) {
          served += 1;
          const disposition = response.headers['content-disposition'];
          if (disposition !== undefined) expect(disposition).toMatch(/^attachment; filename="[A-Za-z0-9._ -]+"$/);
          // Only the one genuine object can ever come back.
          if (method === 'GET') expect(sha256(response.rawPayload)).toBe(sha256(png));
        }
      }),
      { numRuns: 400 },
    );
    // The genuine URL works, so the refusals above are not a broken route.
    const genuine = await app.inject({ method: 'GET', url: good });
    expect(genuine.statusCode).toBe(200);
    expect(genuine.rawPayload.equals(png)).toBe(true);
    console.log(`files route: ${served} of 400 hostile URLs served the one genuine object (with a plain file name)`);
  });
});
