import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { persistFinalAsset } from '../../src/db/repositories/final-assets.js';
import { registerOrderLines } from '../../src/db/repositories/order-lines.js';
import { ERROR_CODES } from '../../src/services/errors.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { faultConfig, faultCredentials } from '../faults/helpers.js';
import { TEST_FAILED_AUTH_LIMIT } from './api-app.js';
import { buildTestApp } from './capture-app.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { Teardown } from './teardown.js';
import { bigId, makePng, newLine, orderBody, PREVIEW_BUCKET, PRINT_BUCKET, sha256, uniqueShop } from './fixtures.js';

type Headers = Record<string, string | string[]>;

/**
 * The app the hostile-input tests of `test/faults/hostile-input/` attack, one per file, and
 * what they attack it with. Property-based tests of every route with hostile input (fast-check, through `app.inject`):
 * random and truncated JSON, wrong types, huge arrays, deep nesting, unicode, `../`, `%2e%2e`,
 * NUL and backslashes in ids, paths, tokens and file names, oversized bodies, wrong content
 * types, missing and duplicated headers. The answer is always a 2xx or a 4xx with the error
 * envelope, never a 5xx; no workflow starts without a valid HMAC; no file is served from
 * outside its bucket. The app talks to the run's real Temporal dev server on a queue of its own.
 */
export function useHostileApp() {
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
  const teardown = new Teardown();
  const png = makePng(12, 12);
  const persistedLine = newLine({ shop_id: shop });
  const failedLine = newLine({ shop_id: shop });
  // Where the persisted line's asset lies in the print bucket.
  const assetPath = `${shop}/${persistedLine.order_line_id}/${sha256(png)}.png`;

  beforeAll(async () => {
    database = await createTestDatabase();
    teardown.defer(() => database.close());
    base = await mkdtemp(path.join(os.tmpdir(), 'printready-hostile-'));
    teardown.defer(() => rm(base, { recursive: true, force: true }));
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
    teardown.defer(() => client.connection.close());
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
      failedAuthLimit: TEST_FAILED_AUTH_LIMIT,
    });
    teardown.defer(() => app.close());
    await app.ready();
  });

  afterAll(() => teardown.run());

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
  const headerText = fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength: 300,
  });

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
  const segment = fc
    .tuple(hostileText, fc.boolean())
    .map(([text, encode]) => (encode || /[^\x21-\x7e]/.test(text) ? encodeURIComponent(text) : text));

  const deepNesting = fc.integer({ min: 1_000, max: 200_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));
  const hugeArray = fc.integer({ min: 10_000, max: 200_000 }).map((length) => `{"id":1,"line_items":[${'1,'.repeat(length)}1]}`);

  /** Bodies of every kind: JSON of any shape, orders with holes, truncated orders, bytes, text. */
  const validOrder = fc.array(fc.constant(null), { minLength: 1, maxLength: 5 }).map((lines) =>
    orderBody(
      bigId(),
      lines.map(() => ({ order_line_id: bigId(), personalization_id: `pers-${randomBytes(3).toString('hex')}` })),
    ),
  );
  const hostileValue = fc.oneof(fc.jsonValue(), hostileText, fc.constantFrom(null, true, 0, -1, 1e308, '', [], {}));
  const brokenOrder = fc
    .record(
      {
        id: fc.oneof(fc.constant(bigId()), hostileValue),
        admin_graphql_api_id: fc.oneof(hostileValue, fc.constant('gid://shopify/Order/../1')),
        line_items: fc.oneof(
          hostileValue,
          fc.array(
            fc.record(
              {
                id: fc.oneof(fc.constant(bigId()), hostileValue),
                properties: fc.oneof(
                  hostileValue,
                  fc.array(
                    fc.record({
                      name: fc.oneof(fc.constantFrom('personalization_id', '_personalization_id'), hostileValue),
                      value: hostileValue,
                    }),
                    { maxLength: 4 },
                  ),
                ),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 8 },
          ),
        ),
      },
      { requiredKeys: [] },
    )
    .map((order) => JSON.stringify(order));
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

  /** Shopify's headers, each possibly missing, duplicated, or replaced by hostile text. */
  const webhookHeaders = (hmac: fc.Arbitrary<string | string[] | undefined>) =>
    fc.record({
      'x-shopify-hmac-sha256': hmac,
      'x-shopify-topic': fc.option(
        fc.oneof(fc.constantFrom('orders/create', 'orders/paid', 'orders/updated', 'ORDERS/CREATE'), headerText),
        { nil: undefined },
      ),
      'x-shopify-shop-domain': fc.option(fc.oneof(fc.constant(shop), fc.constant<string[]>([shop, otherShop]), headerText), {
        nil: undefined,
      }),
      'x-shopify-webhook-id': fc.option(fc.oneof(headerText, fc.constant('x'.repeat(500))), { nil: undefined }),
      'content-type': contentType,
    });

  function withoutUndefined(headers: Record<string, string | string[] | undefined>): Headers {
    return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Headers;
  }

  beforeEach(() => seen.clear());
  afterEach(({ task }) => {
    console.log(`${task.name}: statuses ${JSON.stringify(Object.fromEntries([...seen].sort(([a], [b]) => a - b)))}`);
  });

  return {
    creds,
    merchantToken,
    shop,
    otherShop,
    png,
    persistedLine,
    failedLine,
    assetPath,
    get app() {
      return app;
    },
    get client() {
      return client;
    },
    get database() {
      return database;
    },
    /** Workflow starts the app has made so far. */
    get starts() {
      return starts;
    },
    expectSafe,
    headerText,
    hostileText,
    hostileValue,
    segment,
    deepNesting,
    hugeArray,
    hostileBody,
    contentType,
    webhookHeaders,
    withoutUndefined,
  };
}
