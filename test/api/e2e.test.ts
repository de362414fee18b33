import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { recoveryGuidance } from '../../src/domain/reasons.js';
import { errorBodySchema } from '../../src/api/plugins/errors.js';
import { signedUrlResponseSchema } from '../../src/services/signed-urls.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { FulfillmentStatus, PersonalizationId } from '../../src/workflows/search-attributes.js';
import { expectNoSecretsIn, type WebhookAnswer } from '../support/api-app.js';
import { buildTestApp } from '../support/capture-app.js';
import { eventually } from '../support/eventually.js';
import {
  bigId,
  deliverWebhook,
  makePng,
  orderPayload,
  personalized,
  postPreviewJob,
  PREVIEW_BUCKET,
  putLocal,
  sha256,
} from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import type { CapturedEvent } from '../support/posthog-stand-in.js';
import { Teardown } from '../support/teardown.js';
import { freePort, LogCapture, testConfig, testCredentials } from '../support/api.js';

/**
 * The whole path over real HTTP: Shopify's signed delivery → real Temporal dev server and worker
 * → real Postgres and local storage → a signed URL fetched with plain `fetch`.
 */
const creds = testCredentials();
const config = testConfig(creds, { LOG_LEVEL: 'debug' });
const logs = new LogCapture('debug');
const shop = creds.shop;

let harness: FulfillmentHarness;
let app: FastifyInstance;
let storageRoot: string;
let base: string;
/** Moves the files route's clock, to see a URL expire without waiting. */
let clockOffsetMs = 0;

const orderId = bigId();
const lineA = bigId(); // personalized, preview ready → persisted
const lineB = bigId(); // personalized, no preview yet → failed, then fixed and retried
const lineC = bigId(); // plain: properties null
const lineD = bigId(); // an id no generator registers (odd characters): failed, preview_not_found
const lineE = bigId(); // no properties at all
const lineControl = bigId(); // control characters, NUL among them: failed, recorded with NUL as SUB
const lineTwoIds = bigId(); // two different ids: failed rather than a guess at which to print
const lineLong = bigId(); // too long, in characters JSON escapes: cut to what a search attribute holds
const longId = '\u0001'.repeat(600);
const persA = `pers-a-${bigId()}`;
const persB = `pers-b-${bigId()}`;
const pngA = makePng(300, 200, [200, 30, 30]);
const pngB = makePng(120, 90, [30, 30, 200]);
const body = orderPayload(
  orderId,
  [
    { id: lineA, properties: personalized(persA, '_personalization_id') },
    { id: lineB, properties: personalized(persB, 'personalization_id') },
    { id: lineC, properties: null },
    { id: lineD, properties: personalized('not a valid id!') },
    { id: lineE },
    { id: lineControl, properties: personalized('tab\tand\u0000nul') },
    {
      id: lineTwoIds,
      properties: [
        { name: 'personalization_id', value: 'one' },
        { name: '_personalization_id', value: 'two' },
      ],
    },
    { id: lineLong, properties: personalized(longId) },
  ],
  shop,
);

/** What the webhook answers for the order's personalized lines. */
const acceptedAs = (status: 'started' | 'duplicate') =>
  [lineA, lineB, lineD, lineControl, lineTwoIds, lineLong].map((line) => ({
    order_line_id: line,
    workflow_id: fulfillmentWorkflowId({ shop_id: shop, order_line_id: line }),
    status,
  }));

const read = (response: Response): Promise<unknown> => response.json();
const readError = async (response: Response) => errorBodySchema.parse(await response.json()).error;
const readSignedUrl = async (response: Response) => signedUrlResponseSchema.parse(await response.json());
const readWebhookAnswer = async (response: Response) => (await response.json()) as WebhookAnswer;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };
const linePath = (line: string, suffix = '') => `${base}/v1/shops/${shop}/order-lines/${line}${suffix}`;

const deliver = (payload: string, options: { topic?: string; secret?: string; webhookId?: string } = {}) =>
  deliverWebhook(base, shop, payload, options.secret ?? creds.webhookSecret, options);

const postPreview = (personalizationId: string, jobId: string, path: string, token = creds.merchantToken) =>
  postPreviewJob(base, token, {
    shop_id: shop,
    personalization_id: personalizationId,
    job_id: jobId,
    status: 'ready',
    path,
    content_type: 'image/png',
  });

async function waitForLine(line: string, status: string, timeoutMs = 40_000) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const response = await fetch(linePath(line), { headers: auth(creds.operatorToken) });
    last = await read(response);
    if ((last as { status?: string }).status === status) return last as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`line ${line} did not reach ${status}: ${JSON.stringify(last)}`);
}

const teardown = new Teardown();
beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-e2e-'));
  teardown.defer(() => rm(storageRoot, { recursive: true, force: true }));
  // The local backend signs URLs for this very app: its public base is where the app listens.
  const storage = new LocalStorage({ root: storageRoot, publicBaseUrl: base, signingSecret: creds.signingSecret });
  const put = putLocal(storageRoot);
  harness = await FulfillmentHarness.start({ storage: { storage, put }, previewWaitSeconds: 5 });
  teardown.defer(() => harness.close());
  app = await buildTestApp({
    config,
    db: harness.db,
    storage,
    temporal: { client: harness.client, taskQueue: harness.taskQueue },
    telemetry: harness.telemetry,
    logs,
    localSigningSecret: creds.signingSecret,
    now: () => Date.now() + clockOffsetMs,
  });
  teardown.defer(() => app.close());
  await app.listen({ port, host: '127.0.0.1' });
});

afterAll(() => teardown.run());

describe('end to end over HTTP', () => {
  it('takes the generator’s hand-off', async () => {
    await harness.put(PREVIEW_BUCKET, `${shop}/${persA}.png`, pngA);
    const response = await postPreview(persA, 'job-a', `${shop}/${persA}.png`);
    expect(response.status).toBe(201);
  });

  it('accepts a signed orders/create delivery fast and starts only the personalized lines', async () => {
    const started = performance.now();
    const response = await deliver(body);
    const latencyMs = performance.now() - started;
    const answer = await readWebhookAnswer(response);
    expect(response.status, JSON.stringify(answer)).toBe(200);
    console.log(`webhook intake latency (2 workflows started): ${latencyMs.toFixed(1)} ms`);
    expect(latencyMs).toBeLessThan(5_000);

    expect(answer).toEqual({
      accepted: acceptedAs('started'),
      ignored: [
        { order_line_id: lineC, reason: 'not_personalized' },
        { order_line_id: lineE, reason: 'not_personalized' },
      ],
    });
    // Visible at once, with the exact 18-digit ids.
    const status = await fetch(linePath(lineB), { headers: auth(creds.merchantToken) });
    expect(status.status).toBe(200);
    expect(await read(status)).toMatchObject({ order_id: orderId, order_line_id: lineB, personalization_id: persB });
    expect((await fetch(linePath(lineC), { headers: auth(creds.operatorToken) })).status).toBe(404);
  });

  it('persists the ready line and fails the one without a preview, with guidance', async () => {
    const persisted = await waitForLine(lineA, 'persisted');
    expect(persisted.final_asset).toMatchObject({
      sha256: sha256(pngA),
      size_bytes: pngA.length,
      content_type: 'image/png',
      width: 300,
      height: 200,
    });
    const failed = await waitForLine(lineB, 'failed');
    expect(failed).toMatchObject({
      reason_code: 'preview_not_found',
      recovery_guidance: recoveryGuidance('preview_not_found'),
      final_asset: null,
    });
    expect(await waitForLine(lineD, 'failed')).toMatchObject({ reason_code: 'preview_not_found', personalization_id: 'not a valid id!' });

    const notReady = await fetch(linePath(lineB, '/final-asset/signed-url'), { method: 'POST', headers: auth(creds.merchantToken) });
    expect(notReady.status).toBe(409);
    expect(await readError(notReady)).toMatchObject({ code: 'fulfillment_failed', details: { reason_code: 'preview_not_found' } });
  });

  it('records a failure for a line whose personalization can name no preview, in the database and in Temporal', async () => {
    const cut = `${longId.slice(0, 254)}…`;
    for (const [line, personalizationId] of [
      [lineControl, 'tab\tand\u001anul'],
      [lineTwoIds, 'one\ntwo'],
      [lineLong, cut],
    ] as const) {
      const failed = await waitForLine(line, 'failed');
      expect(failed).toMatchObject({ reason_code: 'preview_not_found', personalization_id: personalizationId, final_asset: null });
      expect(failed.reason_message).toContain('cannot name a preview job');
      // The database says failed before the workflow's next task marks it so for the UI.
      const handle = harness.handle(fulfillmentWorkflowId({ shop_id: shop, order_line_id: line }));
      const attributes = await eventually(
        async () => {
          const { typedSearchAttributes } = await handle.describe();
          return typedSearchAttributes.get(FulfillmentStatus) === 'failed' ? typedSearchAttributes : undefined;
        },
        `${line} marked failed in Temporal`,
        10_000,
      );
      expect(attributes.get(PersonalizationId)).toBe(personalizationId);
      const reported = await harness.posthog.waitFor(
        (event) => event.event === 'fulfillment.asset.failed' && event.properties.order_line_id === line,
        5_000,
      );
      expect(reported.properties).toMatchObject({ personalization_id: personalizationId, reason_code: 'preview_not_found' });
    }
  });

  it('hands out a signed URL that a plain GET turns into the exact bytes', async () => {
    const response = await fetch(linePath(lineA, '/final-asset/signed-url'), {
      method: 'POST',
      headers: { ...json, ...auth(creds.merchantToken) },
      body: JSON.stringify({ download: true, expires_in: 86_400 }),
    });
    expect(response.status).toBe(200);
    const signed = await readSignedUrl(response);
    expect(signed).toMatchObject({ sha256: sha256(pngA), size_bytes: pngA.length, content_type: 'image/png' });
    expect(signed.url.startsWith(`${base}/files/`)).toBe(true);

    const file = await fetch(signed.url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(pngA)).toBe(true);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(file.headers.get('content-length')).toBe(String(pngA.length));
    expect(file.headers.get('etag')).toBe(`"${sha256(pngA)}"`);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${lineA}.png"`);
    const head = await fetch(signed.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(pngA.length));
    expect(head.headers.get('accept-ranges')).toBe('bytes');

    // A download cut off after 100 bytes, resumed as a supplier's client does.
    const rest = await fetch(signed.url, { headers: { range: 'bytes=100-', 'if-range': `"${sha256(pngA)}"` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 100-${pngA.length - 1}/${pngA.length}`);
    expect(Buffer.concat([pngA.subarray(0, 100), Buffer.from(await rest.arrayBuffer())]).equals(pngA)).toBe(true);
  });

  it('refuses the tampered URL and the expired one', async () => {
    const response = await fetch(linePath(lineA, '/final-asset/signed-url'), {
      method: 'POST',
      headers: { ...json, ...auth(creds.operatorToken) },
      body: JSON.stringify({ expires_in: 60 }),
    });
    const { url } = await readSignedUrl(response);
    expect((await fetch(url)).status).toBe(200);

    const longer = new URL(url);
    longer.searchParams.set('expires', String(Number(longer.searchParams.get('expires')) + 86_400));
    const tampered = await fetch(longer);
    expect(tampered.status).toBe(403);
    expect((await readError(tampered)).code).toBe('invalid_signature');
    const otherFile = new URL(url);
    otherFile.pathname = otherFile.pathname.replace(/[0-9a-f]{64}/, '0'.repeat(64));
    expect((await fetch(otherFile)).status).toBe(403);

    clockOffsetMs = 61_000;
    try {
      const expired = await fetch(url);
      expect(expired.status).toBe(410);
      expect((await readError(expired)).code).toBe('url_expired');
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('answers duplicate to a redelivery and to orders/paid', async () => {
    for (const topic of ['orders/create', 'orders/paid']) {
      const response = await deliver(body, { topic });
      expect(response.status).toBe(200);
      const answer = await readWebhookAnswer(response);
      expect(answer.accepted).toEqual(acceptedAs('duplicate'));
    }
  });

  it('starts nothing for a bad HMAC or malformed JSON', async () => {
    const line = bigId();
    const other = orderPayload(bigId(), [{ id: line, properties: personalized(`pers-${line}`) }], shop);
    const badHmac = await deliver(other, { secret: 'whsec_wrong' });
    expect(badHmac.status).toBe(401);
    expect((await readError(badHmac)).code).toBe('invalid_hmac');
    const malformed = await deliver(other.slice(0, -10));
    expect(malformed.status).toBe(400);
    expect((await readError(malformed)).code).toBe('invalid_payload');

    expect((await fetch(linePath(line), { headers: auth(creds.operatorToken) })).status).toBe(404);
    await expect(harness.handle(`${shop}:${line}:fulfillment`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('shows another shop’s token nothing', async () => {
    const other = auth(creds.otherMerchantToken);
    expect((await fetch(linePath(lineA), { headers: other })).status).toBe(404);
    expect((await fetch(linePath(lineA, '/final-asset/signed-url'), { method: 'POST', headers: other })).status).toBe(404);
    expect((await fetch(linePath(lineB, '/retry'), { method: 'POST', headers: other })).status).toBe(404);
    const write = await postPreview(persB, 'job-b', `${shop}/${persB}.png`, creds.otherMerchantToken);
    expect(write.status).toBe(403);
    expect((await fetch(linePath(lineA))).status).toBe(401);
  });

  it('persists the failed line once after the cause is fixed and it is retried', async () => {
    await harness.put(PREVIEW_BUCKET, `${shop}/${persB}.png`, pngB);
    expect((await postPreview(persB, 'job-b', `${shop}/${persB}.png`)).status).toBe(201);

    const retry = await fetch(linePath(lineB, '/retry'), { method: 'POST', headers: auth(creds.merchantToken) });
    expect(retry.status).toBe(202);
    expect(await read(retry)).toEqual({ workflow_id: `${shop}:${lineB}:fulfillment`, status: 'retry_requested' });

    const persisted = await waitForLine(lineB, 'persisted');
    expect(persisted.final_asset).toMatchObject({ sha256: sha256(pngB), width: 120, height: 90 });
    const assets = await harness.db
      .selectFrom('final_assets')
      .selectAll()
      .where('shop_id', '=', shop)
      .where('order_line_id', '=', lineB)
      .execute();
    expect(assets).toHaveLength(1);

    const again = await fetch(linePath(lineB, '/retry'), { method: 'POST', headers: auth(creds.merchantToken) });
    expect(again.status).toBe(409);
    expect((await readError(again)).code).toBe('not_failed');
    const signed = await fetch(linePath(lineB, '/final-asset/signed-url'), { method: 'POST', headers: auth(creds.merchantToken) });
    const file = await fetch((await readSignedUrl(signed)).url);
    expect(Buffer.from(await file.arrayBuffer()).equals(pngB)).toBe(true);
  });

  it('retries a failed line whose workflow has closed in a new run, and reports the retry once', async () => {
    const order = bigId();
    const lineF = bigId();
    const persF = `pers-f-${bigId()}`;
    expect((await deliver(orderPayload(order, [{ id: lineF, properties: personalized(persF) }], shop))).status).toBe(200);
    const failed = await waitForLine(lineF, 'failed');
    const workflowId = fulfillmentWorkflowId({ shop_id: shop, order_line_id: lineF });
    // As if its retry window had run out.
    await harness.handle(workflowId).terminate('retry window over');

    await harness.put(PREVIEW_BUCKET, `${shop}/${persF}.png`, pngB);
    expect((await postPreview(persF, 'job-f', `${shop}/${persF}.png`)).status).toBe(201);
    const retry = await fetch(linePath(lineF, '/retry'), { method: 'POST', headers: auth(creds.merchantToken) });
    expect(retry.status).toBe(202);
    expect(await waitForLine(lineF, 'persisted')).toMatchObject({ final_asset: { sha256: sha256(pngB) } });

    const isRetry = (event: CapturedEvent) => event.event === 'fulfillment.retry_requested' && event.properties.order_line_id === lineF;
    const reported = await harness.posthog.waitFor(isRetry, 5_000);
    expect(reported.distinct_id).toBe(shop);
    expect(reported.properties).toMatchObject({
      shop_id: shop,
      order_id: order,
      personalization_id: persF,
      workflow_id: workflowId,
      reason_code: failed.reason_code,
    });
    expect(harness.posthog.events().filter(isRetry)).toHaveLength(1);
  });

  it('logged nothing secret', () => {
    expect(logs.text.length).toBeGreaterThan(0);
    expectNoSecretsIn(logs, creds);
  });
});
