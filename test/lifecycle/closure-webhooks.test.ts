import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { LineStatusView } from '../../src/domain/line-status.js';
import { WEBHOOK_BODY_LIMIT } from '../../src/intake/shopify.js';
import { deadlineAwareRetryInterceptor } from '../../src/intake/temporal-deadline.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { FulfillmentStatus } from '../../src/workflows/search-attributes.js';
import { testConfig, testCredentials } from '../support/api.js';
import { expectError } from '../support/api-app.js';
import { buildTestApp } from '../support/capture-app.js';
import { bigId, hmac, makePng, orderPayload, personalized, PREVIEW_BUCKET, putLocal } from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { Teardown } from '../support/teardown.js';
import { freePort } from '../support/ports.js';

/**
 * `orders/cancelled` and `refunds/create` through the webhook, on the real Temporal dev server,
 * a worker and Postgres: what they close, in what order they may come, and what a redelivery,
 * a race with `orders/create` or a malformed body does.
 */
const creds = testCredentials();
const config = testConfig(creds, { LOG_LEVEL: 'info' });
const shop = creds.shop;

let harness: FulfillmentHarness;
let app: FastifyInstance;
let deadApp: FastifyInstance;
let deadClient: Client;
let storageRoot: string;
const teardown = new Teardown();

beforeAll(async () => {
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-closure-'));
  teardown.defer(() => rm(storageRoot, { recursive: true, force: true }));
  const storage = new LocalStorage({
    root: storageRoot,
    publicBaseUrl: 'http://files.printready.test',
    signingSecret: creds.signingSecret,
  });
  const put = putLocal(storageRoot);
  // Long enough that a rendering preview keeps its line waiting for the whole file.
  harness = await FulfillmentHarness.start({ storage: { storage, put }, previewWaitSeconds: 600 });
  teardown.defer(() => harness.close());
  const deps = {
    config,
    db: harness.db,
    storage,
    temporal: { client: harness.client, taskQueue: harness.taskQueue },
    telemetry: harness.telemetry,
    localSigningSecret: creds.signingSecret,
  };
  app = await buildTestApp(deps);
  teardown.defer(() => app.close());
  deadClient = new Client({
    connection: Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      connectTimeout: '1s',
      interceptors: [deadlineAwareRetryInterceptor()],
    }),
  });
  teardown.defer(() => deadClient.connection.close());
  deadApp = await buildTestApp({ ...deps, temporal: { client: deadClient, taskQueue: harness.taskQueue }, temporalTimeoutMs: 1_000 });
  teardown.defer(() => deadApp.close());
});

afterAll(() => teardown.run());

function deliver(topic: string, body: string, target = app) {
  return target.inject({
    method: 'POST',
    url: '/webhooks/shopify',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-shop-domain': shop,
      'x-shopify-webhook-id': `wh-${randomBytes(4).toString('hex')}`,
      'x-shopify-api-version': '2025-07',
      'x-shopify-hmac-sha256': hmac(body, creds.webhookSecret),
    },
    payload: body,
  });
}

/** Shopify's `orders/cancelled`: the whole order, `cancelled_at` and `cancel_reason` set. */
const cancelledPayload = (orderId: string, lines: string[]) =>
  orderPayload(
    orderId,
    lines.map((id) => ({ id, properties: personalized(`pers-${id}`) })),
    shop,
  )
    .replace('"cancel_reason": null', '"cancel_reason": "customer"')
    .replace('"cancelled_at": null', '"cancelled_at": "2026-12-06T10:00:00-05:00"');

/** Shopify's `refunds/create`, ids as 18-digit JSON numbers. */
const refundPayload = (refundId: string, orderId: string, items: { line: string; quantity: number; of: number }[]) => `{
  "id": ${refundId},
  "order_id": ${orderId},
  "created_at": "2026-12-06T11:00:00-05:00",
  "note": "damaged",
  "restock": false,
  "refund_line_items": [${items
    .map(
      (item) => `{
    "id": ${bigId()},
    "line_item_id": ${item.line},
    "location_id": null,
    "quantity": ${item.quantity},
    "restock_type": "no_restock",
    "subtotal": 19.95,
    "line_item": { "id": ${item.line}, "quantity": ${item.of}, "name": "Custom mug", "price": "19.95" }
  }`,
    )
    .join(',')}],
  "transactions": []
}`;

const createPayload = (orderId: string, lines: string[]) =>
  orderPayload(
    orderId,
    lines.map((id) => ({ id, properties: personalized(`pers-${id}`) })),
    shop,
  );

const workflowOf = (line: string) => fulfillmentWorkflowId({ shop_id: shop, order_line_id: line });
const lineView = async (line: string): Promise<LineStatusView> =>
  (await app.inject({ url: `/v1/shops/${shop}/order-lines/${line}`, headers: { authorization: `Bearer ${creds.operatorToken}` } })).json();
const signedUrl = (line: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/shops/${shop}/order-lines/${line}/final-asset/signed-url`,
    headers: { authorization: `Bearer ${creds.merchantToken}` },
    payload: {},
  });
const retry = (line: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/shops/${shop}/order-lines/${line}/retry`,
    headers: { authorization: `Bearer ${creds.operatorToken}` },
  });

async function givenPreview(line: string, state: 'ready' | 'rendering'): Promise<void> {
  const job = { shop_id: shop, personalization_id: `pers-${line}`, job_id: `job-${line}` };
  if (state === 'rendering') {
    await recordPreviewJob(harness.db, { ...job, status: 'rendering' }, PREVIEW_BUCKET);
    return;
  }
  const key = `${shop}/pers-${line}.png`;
  await harness.put(PREVIEW_BUCKET, key, makePng(24, 12));
  await recordPreviewJob(harness.db, { ...job, status: 'ready', path: key }, PREVIEW_BUCKET);
}

/** The workflow's end, or undefined when none was started. */
async function outcome(line: string): Promise<string | undefined> {
  try {
    return (await harness.handle(workflowOf(line)).result()).status;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

const eventsOf = (name: string, line: string) =>
  harness.posthog.events().filter((e) => e.event === name && e.properties.order_line_id === line);
const assetsOf = (line: string) =>
  harness.db.selectFrom('final_assets').selectAll().where('shop_id', '=', shop).where('order_line_id', '=', line).execute();
const byLine = <T extends { order_line_id: string }>(rows: T[]) => [...rows].sort((a, b) => (a.order_line_id < b.order_line_id ? -1 : 1));

describe('orders/cancelled', () => {
  it('closes every personalized line: persisted → withheld, waiting and failed → cancelled; signed URLs 409, retry not_failed; a redelivery changes nothing', async () => {
    const orderId = bigId();
    const [persisted, waiting, failed] = [bigId(), bigId(), bigId()];
    await givenPreview(persisted, 'ready');
    await givenPreview(waiting, 'rendering');
    expect((await deliver('orders/create', createPayload(orderId, [persisted, waiting, failed]))).statusCode).toBe(200);
    await harness.handle(workflowOf(persisted)).result();
    await harness.waitForStatus(workflowOf(waiting), 'waiting_for_preview');
    await harness.waitForStatus(workflowOf(failed), 'failed');

    const response = await deliver('orders/cancelled', cancelledPayload(orderId, [persisted, waiting, failed]));
    expect(response.statusCode, response.body).toBe(200);
    const expected = {
      accepted: [],
      ignored: [],
      closed: byLine([
        { order_line_id: persisted, status: 'withheld' },
        { order_line_id: waiting, status: 'cancelled' },
        { order_line_id: failed, status: 'cancelled' },
      ]),
    };
    expect(response.json()).toEqual(expected);

    // The waiting lines' workflows end at once, as the route says.
    expect(await outcome(waiting)).toBe('cancelled');
    expect(await outcome(failed)).toBe('cancelled');
    expect((await harness.handle(workflowOf(waiting)).describe()).typedSearchAttributes.get(FulfillmentStatus)).toBe('cancelled');
    const views = await Promise.all([persisted, waiting, failed].map(lineView));
    expect(views.map((view) => view.status)).toEqual(['withheld', 'cancelled', 'cancelled']);
    expect(views[0]?.final_asset).toMatchObject({ width: 24, height: 12 });
    expect(views[2]).toMatchObject({ reason_code: null, final_asset: null });

    expectError(await signedUrl(persisted), 409, 'line_withheld');
    expectError(await signedUrl(waiting), 409, 'line_cancelled');
    expectError(await retry(failed), 409, 'not_failed');
    expectError(await retry(persisted), 409, 'not_failed');

    await harness.posthog.waitFor((e) => e.event === 'fulfillment.asset.withheld' && e.properties.order_line_id === persisted, 5_000);
    expect(eventsOf('fulfillment.line.cancelled', waiting)[0]?.properties).toMatchObject({
      closure_reason: 'order_cancelled',
      order_id: orderId,
    });

    const again = await deliver('orders/cancelled', cancelledPayload(orderId, [persisted, waiting, failed]));
    expect(again.json()).toEqual(expected);
    expect(await Promise.all([persisted, waiting, failed].map(lineView))).toEqual(views);
    expect(eventsOf('fulfillment.line.cancelled', waiting)).toHaveLength(1);
    expect(eventsOf('fulfillment.asset.withheld', persisted)).toHaveLength(1);
  });

  it('before its orders/create: the order’s lines are ignored as order_cancelled and start nothing', async () => {
    const orderId = bigId();
    const lines = [bigId(), bigId()];
    const cancelled = await deliver('orders/cancelled', cancelledPayload(orderId, lines));
    expect(cancelled.json()).toEqual({ accepted: [], ignored: [], closed: [] });
    const created = await deliver('orders/create', createPayload(orderId, lines));
    expect(created.statusCode).toBe(200);
    expect(created.json()).toEqual({ accepted: [], ignored: lines.map((line) => ({ order_line_id: line, reason: 'order_cancelled' })) });
    expect(await Promise.all(lines.map(outcome))).toEqual([undefined, undefined]);
  });

  it('answers 503 while Temporal is away, with the closure recorded; the redelivery closes the waiting line', async () => {
    const orderId = bigId();
    const line = bigId();
    await givenPreview(line, 'rendering');
    await deliver('orders/create', createPayload(orderId, [line]));
    await harness.waitForStatus(workflowOf(line), 'waiting_for_preview');
    expectError(await deliver('orders/cancelled', cancelledPayload(orderId, [line]), deadApp), 503, 'temporal_unavailable');
    expect((await lineView(line)).status).toBe('cancelled');
    const redelivered = await deliver('orders/cancelled', cancelledPayload(orderId, [line]));
    expect(redelivered.json()).toMatchObject({ closed: [{ order_line_id: line, status: 'cancelled' }] });
    expect(await outcome(line)).toBe('cancelled');
  });
});

describe('refunds/create', () => {
  it('refunds add up: a partly refunded line is untouched, two partial refunds covering the line close it; a redelivery adds nothing', async () => {
    const orderId = bigId();
    const [twoMugs, oneMug] = [bigId(), bigId()];
    await givenPreview(twoMugs, 'rendering');
    await givenPreview(oneMug, 'rendering');
    await deliver('orders/create', createPayload(orderId, [twoMugs, oneMug]));
    await harness.waitForStatus(workflowOf(twoMugs), 'waiting_for_preview');
    await harness.waitForStatus(workflowOf(oneMug), 'waiting_for_preview');

    const first = refundPayload(bigId(), orderId, [
      { line: twoMugs, quantity: 1, of: 2 },
      { line: oneMug, quantity: 1, of: 1 },
    ]);
    const answer = await deliver('refunds/create', first);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toEqual({ accepted: [], ignored: [], closed: [{ order_line_id: oneMug, status: 'cancelled' }] });
    expect(await outcome(oneMug)).toBe('cancelled');
    expect((await deliver('refunds/create', first)).json()).toEqual(answer.json());
    expect((await lineView(twoMugs)).status).toBe('waiting_for_preview');

    const second = await deliver('refunds/create', refundPayload(bigId(), orderId, [{ line: twoMugs, quantity: 1, of: 2 }]));
    expect(second.json()).toEqual({ accepted: [], ignored: [], closed: [{ order_line_id: twoMugs, status: 'cancelled' }] });
    expect(await outcome(twoMugs)).toBe('cancelled');
    expect(
      (await harness.posthog.waitFor((e) => e.event === 'fulfillment.line.cancelled' && e.properties.order_line_id === twoMugs, 5_000))
        .properties,
    ).toMatchObject({ closure_reason: 'line_refunded' });
  });

  it('before its orders/create: a line refunded in full is ignored as line_refunded, the others start', async () => {
    const orderId = bigId();
    const [refunded, kept] = [bigId(), bigId()];
    await givenPreview(kept, 'ready');
    await deliver(
      'refunds/create',
      refundPayload(bigId(), orderId, [
        { line: refunded, quantity: 1, of: 1 },
        { line: kept, quantity: 1, of: 3 },
      ]),
    );
    const created = await deliver('orders/create', createPayload(orderId, [refunded, kept]));
    expect(created.json()).toEqual({
      accepted: [{ order_line_id: kept, workflow_id: workflowOf(kept), status: 'started' }],
      ignored: [{ order_line_id: refunded, reason: 'line_refunded' }],
    });
    expect(await outcome(refunded)).toBeUndefined();
    expect(await outcome(kept)).toBe('persisted');
  });
});

describe('cancellation racing orders/create', () => {
  it('every line ends in exactly one consistent state, round after round', async () => {
    const ROUNDS = 16;
    for (let round = 0; round < ROUNDS; round++) {
      const orderId = bigId();
      const lines = [bigId(), bigId()];
      // Rendering previews: no line can persist, so each must end cancelled (or never start).
      // Every other round the previews are ready: a line may then persist first, and must end withheld.
      const ready = round % 2 === 1;
      for (const line of lines) await givenPreview(line, ready ? 'ready' : 'rendering');
      const [created, cancelled] = await Promise.all([
        deliver('orders/create', createPayload(orderId, lines)),
        deliver('orders/cancelled', cancelledPayload(orderId, lines)),
      ]);
      expect(created.statusCode, created.body).toBe(200);
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      const answer = created.json<{ accepted: { order_line_id: string }[]; ignored: { order_line_id: string; reason: string }[] }>();
      for (const line of lines) {
        const started = answer.accepted.some((accepted) => accepted.order_line_id === line);
        const ended = await outcome(line);
        const assets = await assetsOf(line);
        if (!started) {
          expect(answer.ignored).toContainEqual({ order_line_id: line, reason: 'order_cancelled' });
          expect(ended).toBeUndefined();
          expect(assets).toEqual([]);
          continue;
        }
        const view = await lineView(line);
        expect(view.status).toBe(ended);
        if (ready) expect(['cancelled', 'withheld']).toContain(ended);
        else expect(ended).toBe('cancelled');
        expect(assets).toHaveLength(ended === 'withheld' ? 1 : 0);
        expect((await harness.handle(workflowOf(line)).describe()).typedSearchAttributes.get(FulfillmentStatus)).not.toBe('persisted');
      }
    }
  });
});

describe('malformed closures', () => {
  it('malformed, wrongly typed and oversized bodies get the envelope and close nothing', async () => {
    const orderId = bigId();
    const line = bigId();
    await givenPreview(line, 'rendering');
    await deliver('orders/create', createPayload(orderId, [line]));
    await harness.waitForStatus(workflowOf(line), 'waiting_for_preview');

    const bodies: [string, string][] = [
      ['orders/cancelled', 'not json'],
      ['orders/cancelled', '[]'],
      ['orders/cancelled', `{"id": ${orderId}}`],
      ['orders/cancelled', `{"id": ${orderId}, "cancelled_at": 12}`],
      ['orders/cancelled', `{"id": {"n": ${orderId}}, "cancelled_at": "2026-12-06T10:00:00Z"}`],
      ['orders/cancelled', `{"id": ${orderId}.5, "cancelled_at": "2026-12-06T10:00:00Z"}`],
      ['refunds/create', `{"id": 1, "order_id": ${orderId}}`],
      ['refunds/create', `{"id": 1, "order_id": ${orderId}, "refund_line_items": {}}`],
      [
        'refunds/create',
        `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": ${line}, "quantity": "1", "line_item": {"quantity": 1}}]}`,
      ],
      ['refunds/create', `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": ${line}, "quantity": 1}]}`],
      [
        'refunds/create',
        `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": ${line}, "quantity": -1, "line_item": {"quantity": 1}}]}`,
      ],
      [
        'refunds/create',
        `{"id": 1, "order_id": ${orderId}, "refund_line_items": [{"line_item_id": true, "quantity": 1, "line_item": {"quantity": 1}}]}`,
      ],
    ];
    for (const [topic, body] of bodies) expectError(await deliver(topic, body), 400, 'invalid_payload');
    const padding = ' '.repeat(WEBHOOK_BODY_LIMIT);
    expectError(
      await deliver('refunds/create', refundPayload(bigId(), orderId, [{ line, quantity: 1, of: 1 }]) + padding),
      413,
      'payload_too_large',
    );
    expectError(await deliver('orders/cancelled', cancelledPayload(orderId, [line]) + padding), 413, 'payload_too_large');
    expect((await lineView(line)).status).toBe('waiting_for_preview');
    const recorded = await harness.db
      .selectFrom('orders')
      .select('cancelled_at')
      .where('shop_id', '=', shop)
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    expect(recorded?.cancelled_at ?? null).toBeNull();
    expect(await harness.db.selectFrom('order_refunds').selectAll().where('order_id', '=', orderId).execute()).toEqual([]);
  });
});
