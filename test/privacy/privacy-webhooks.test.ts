import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { orderEventWorkflowId, readyForPrintEvent } from '../../src/domain/order-events.js';
import { redactionWorkflowId, type RedactionCounts } from '../../src/domain/privacy.js';
import { WEBHOOK_BODY_LIMIT } from '../../src/intake/shopify.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { linesTotal } from '../../src/telemetry/metrics/metrics.js';
import type { RedactShopData } from '../../src/workflows/redact-shop-data.js';
import { testConfig, testCredentials } from '../support/api.js';
import { buildDeadTemporalApp, expectError } from '../support/api-app.js';
import { buildTestApp, type TestAppDeps } from '../support/capture-app.js';
import {
  bigId,
  deliveryHeaders,
  makePng,
  orderPayload,
  personalized,
  PREVIEW_BUCKET,
  PRINT_BUCKET,
  putLocal,
} from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { OrderEventsReceiver } from '../support/order-events-receiver.js';
import { registerSecrets } from '../support/capture.js';
import { eventually } from '../support/eventually.js';
import { Teardown } from '../support/teardown.js';
import { CUSTOMER_EMAIL, CUSTOMER_PHONE, customerRedactPayload, dataRequestPayload, shopRedactPayload } from './payloads.js';

/**
 * The privacy topics through the webhook, on the real Temporal dev server, a worker, Postgres
 * and the local storage backend: what each records, what a redaction erases (and what it never
 * touches), redeliveries, and bodies that must start nothing.
 */
const creds = testCredentials();
const config = testConfig(creds, { LOG_LEVEL: 'info' });
const shop = creds.shop;
const otherShop = creds.otherShop;

let harness: FulfillmentHarness;
let app: FastifyInstance;
let deadApp: FastifyInstance;
let storageRoot: string;
let deps: TestAppDeps;
const logLines: string[] = [];
const teardown = new Teardown();

beforeAll(async () => {
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-privacy-'));
  teardown.defer(() => rm(storageRoot, { recursive: true, force: true }));
  const storage = new LocalStorage({
    root: storageRoot,
    publicBaseUrl: 'http://files.printready.test',
    signingSecret: creds.signingSecret,
  });
  // Order events on: a redaction deletes their deliveries, whose histories hold the order's ids.
  const orderEventsSecret = `oes_${randomBytes(24).toString('hex')}`;
  registerSecrets(orderEventsSecret);
  const receiver = await OrderEventsReceiver.start();
  teardown.defer(() => receiver.close());
  harness = await FulfillmentHarness.start({
    storage: { storage, put: putLocal(storageRoot) },
    previewWaitSeconds: 600,
    orderEvents: { url: receiver.url, secret: orderEventsSecret, urlTtlSeconds: 3_600 },
  });
  teardown.defer(() => harness.close());
  deps = {
    config,
    db: harness.db,
    storage,
    temporal: { client: harness.client, taskQueue: harness.taskQueue },
    telemetry: harness.telemetry,
    localSigningSecret: creds.signingSecret,
    logs: { write: (line: string) => void logLines.push(line) },
  };
  app = await buildTestApp(deps);
  teardown.defer(() => app.close());
  ({ app: deadApp } = await buildDeadTemporalApp(deps, teardown));
});

afterAll(() => teardown.run());

function deliver(topic: string, body: string, options: { shop?: string; target?: FastifyInstance } = {}) {
  return (options.target ?? app).inject({
    method: 'POST',
    url: '/webhooks/shopify',
    headers: deliveryHeaders(options.shop ?? shop, body, creds.webhookSecret, { topic }),
    payload: body,
  });
}

const get = (url: string, token = creds.operatorToken) => app.inject({ url, headers: { authorization: `Bearer ${token}` } });

/** Persists personalized lines of an order of `inShop` through `orders/create`: their previews and assets exist. */
async function persistedOrder(inShop: string, lines: string[], orderId = bigId()): Promise<string> {
  for (const line of lines) {
    const key = `${inShop}/pers-${line}.png`;
    await harness.put(PREVIEW_BUCKET, key, makePng(16, 8));
    await recordPreviewJob(
      harness.db,
      { shop_id: inShop, personalization_id: `pers-${line}`, job_id: `job-${line}`, status: 'ready', path: key },
      PREVIEW_BUCKET,
    );
  }
  const body = orderPayload(
    orderId,
    lines.map((id) => ({ id, properties: personalized(`pers-${id}`) })),
    inShop,
  );
  expect((await deliver('orders/create', body, { shop: inShop })).statusCode).toBe(200);
  for (const line of lines) {
    expect((await harness.handle(fulfillmentWorkflowId({ shop_id: inShop, order_line_id: line })).result()).status).toBe('persisted');
  }
  return orderId;
}

/** Every object of the local buckets under `prefix`, with its bytes. */
async function objectsUnder(prefix: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const bucket of [PREVIEW_BUCKET, PRINT_BUCKET]) {
    for await (const paths of harness.storage.list({ bucket, folder: prefix })) {
      for (const key of paths) found.set(`${bucket}/${key}`, await readFile(path.join(storageRoot, bucket, key)));
    }
  }
  return found;
}

const lineObjects = async (inShop: string, line: string) =>
  [...(await objectsUnder(inShop)).keys()].filter((key) => key.includes(`/${line}/`) || key.includes(`pers-${line}.`));

/** `printready_lines_total{status="redacted"}` of this process, where the test's worker runs. */
const redactedTransitions = async () => (await linesTotal.get()).values.find((value) => value.labels.status === 'redacted')?.value ?? 0;

async function redactionDone(redactionId: string, inShop = shop): Promise<RedactionCounts> {
  return harness.client.workflow.getHandle<typeof RedactShopData>(redactionWorkflowId(inShop, redactionId)).result();
}

/**
 * Temporal accepts a deletion and carries it out in the background: on the dev server it takes
 * 30 to 60 s when nothing else wakes its task queue.
 */
const DELETION_WAIT_MS = 90_000;
/** A test that waits for deleted executions: the deletion's wait and the rest of the test. */
const WITH_DELETION = DELETION_WAIT_MS + 60_000;

async function executionGone(workflowId: string): Promise<boolean> {
  return eventually(
    async () => {
      try {
        await harness.handle(workflowId).describe();
        return undefined;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return true;
        throw error;
      }
    },
    `execution ${workflowId} deleted`,
    DELETION_WAIT_MS,
  );
}

describe('customers/data_request', () => {
  it('records a report of the orders named (for that shop only), served to the shop and operators; a redelivery answers the same', async () => {
    const lines = [bigId(), bigId()];
    const orderId = await persistedOrder(shop, lines);
    const unknownOrder = bigId();
    const [customerId, requestId] = [bigId(), bigId()];
    const body = dataRequestPayload(shop, customerId, requestId, [orderId, unknownOrder]);
    const response = await deliver('customers/data_request', body);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ data_request_id: requestId });

    const report = await get(`/v1/shops/${shop}/data-requests/${requestId}`, creds.merchantToken);
    expect(report.statusCode, report.body).toBe(200);
    const view = report.json<{ orders: { order_id: string; lines: { order_line_id: string }[] }[] }>();
    expect(view).toMatchObject({ data_request_id: requestId, shop_id: shop, customer_id: customerId });
    expect(view.orders.map((order) => order.order_id)).toEqual([orderId, unknownOrder]);
    expect(view.orders[0]?.lines.map((line) => line.order_line_id).sort()).toEqual([...lines].sort());
    expect(view.orders[0]?.lines[0]).toMatchObject({
      status: 'persisted',
      personalization_id: expect.stringMatching(/^pers-/) as string,
      final_asset: { bucket: PRINT_BUCKET, width: 16, height: 8 },
      preview: { bucket: PREVIEW_BUCKET },
    });
    expect(view.orders[1]?.lines).toEqual([]);

    expect((await deliver('customers/data_request', body)).json()).toEqual({ data_request_id: requestId });
    expect((await get(`/v1/shops/${shop}/data-requests/${requestId}`)).json()).toEqual(view);
    expectError(await get(`/v1/shops/${shop}/data-requests/${requestId}`, creds.otherMerchantToken), 404, 'not_found');
    expectError(await get(`/v1/shops/${otherShop}/data-requests/${requestId}`), 404, 'not_found');
    expectError(await get(`/v1/shops/${shop}/data-requests/${bigId()}`), 404, 'not_found');
    await harness.posthog.waitFor((e) => e.event === 'privacy.data_request.recorded' && e.properties.shop_id === shop, 5_000);
  });
});

describe('customers/redact', () => {
  it(
    "erases the orders' lines (objects, records, executions), keeps other orders, drops them from reports; redelivery and late orders/create change nothing",
    async () => {
      const [gone1, gone2, kept] = [bigId(), bigId(), bigId()];
      const redactedOrder = await persistedOrder(shop, [gone1, gone2]);
      const keptOrder = await persistedOrder(shop, [kept]);
      const requestId = bigId();
      await deliver('customers/data_request', dataRequestPayload(shop, bigId(), requestId, [redactedOrder, keptOrder]));
      const keptBefore = await objectsUnder(shop).then((all) => [...all].filter(([key]) => key.includes(kept)));
      expect(keptBefore).toHaveLength(2);
      expect(await lineObjects(shop, gone1)).toHaveLength(2);

      const counted = await redactedTransitions();
      const body = customerRedactPayload(shop, bigId(), [redactedOrder]);
      const response = await deliver('customers/redact', body);
      expect(response.statusCode, response.body).toBe(200);
      const { redaction_id } = response.json<{ redaction_id: string }>();
      expect(await redactionDone(redaction_id)).toEqual({ orders_redacted: 1, lines_redacted: 2, objects_deleted: 4 });
      expect((await redactedTransitions()) - counted).toBe(2);

      // The order's ready event went to the print side; its delivery is deleted with the lines.
      expect(await executionGone(orderEventWorkflowId(readyForPrintEvent({ shop_id: shop, order_id: redactedOrder }).event_id))).toBe(true);
      await harness.handle(orderEventWorkflowId(readyForPrintEvent({ shop_id: shop, order_id: keptOrder }).event_id)).describe();
      for (const line of [gone1, gone2]) {
        expect(await lineObjects(shop, line)).toEqual([]);
        expect(await executionGone(fulfillmentWorkflowId({ shop_id: shop, order_line_id: line }))).toBe(true);
        const view = await get(`/v1/shops/${shop}/order-lines/${line}`, creds.merchantToken);
        expect(view.json()).toEqual({
          shop_id: shop,
          order_id: redactedOrder,
          order_line_id: line,
          status: 'redacted',
          updated_at: expect.any(String) as string,
        });
        expectError(
          await app.inject({
            method: 'POST',
            url: `/v1/shops/${shop}/order-lines/${line}/final-asset/signed-url`,
            headers: { authorization: `Bearer ${creds.merchantToken}` },
            payload: {},
          }),
          410,
          'redacted',
        );
        expectError(
          await app.inject({
            method: 'POST',
            url: `/v1/shops/${shop}/order-lines/${line}/retry`,
            headers: { authorization: `Bearer ${creds.operatorToken}` },
          }),
          409,
          'not_failed',
        );
      }
      // The order view shows the same remainder of each line, and the batch route hands out nothing.
      const order = (await get(`/v1/shops/${shop}/orders/${redactedOrder}`, creds.merchantToken)).json<{
        status: string;
        lines: object[];
      }>();
      expect(order.status).toBe('redacted');
      for (const line of order.lines)
        expect(Object.keys(line).sort()).toEqual(['order_id', 'order_line_id', 'shop_id', 'status', 'updated_at']);
      expectError(
        await app.inject({
          method: 'POST',
          url: `/v1/shops/${shop}/orders/${redactedOrder}/signed-urls`,
          headers: { authorization: `Bearer ${creds.merchantToken}` },
          payload: {},
        }),
        409,
        'order_not_ready',
      );
      const rows = await harness.db
        .selectFrom('order_lines')
        .selectAll()
        .where('shop_id', '=', shop)
        .where('order_id', '=', redactedOrder)
        .execute();
      expect(rows.map((row) => [row.status, row.personalization_id])).toEqual([
        ['redacted', ''],
        ['redacted', ''],
      ]);
      for (const table of ['final_assets', 'fulfillment_failures'] as const) {
        expect(
          await harness.db
            .selectFrom(table)
            .select('order_line_id')
            .where('shop_id', '=', shop)
            .where('order_line_id', 'in', [gone1, gone2])
            .execute(),
        ).toEqual([]);
      }
      expect(
        await harness.db
          .selectFrom('preview_jobs')
          .select('personalization_id')
          .where('shop_id', '=', shop)
          .where('personalization_id', 'in', [`pers-${gone1}`, `pers-${gone2}`])
          .execute(),
      ).toEqual([]);
      // The kept order: its objects byte for byte, its line still persisted, still in the report.
      const keptAfter = await objectsUnder(shop).then((all) => [...all].filter(([key]) => key.includes(kept)));
      expect(keptAfter).toEqual(keptBefore);
      expect((await get(`/v1/shops/${shop}/order-lines/${kept}`)).json()).toMatchObject({ status: 'persisted' });
      const report = (await get(`/v1/shops/${shop}/data-requests/${requestId}`)).json<{ orders: { order_id: string }[] }>();
      expect(report.orders.map((order) => order.order_id)).toEqual([keptOrder]);

      const status = await get(`/v1/shops/${shop}/redactions/${redaction_id}`);
      expect(status.json()).toEqual({
        redaction_id,
        kind: 'customer',
        status: 'completed',
        orders_redacted: 1,
        lines_redacted: 2,
        objects_deleted: 4,
        completed_at: expect.any(String) as string,
      });
      expectError(await get(`/v1/shops/${shop}/redactions/${redaction_id}`, creds.merchantToken), 403, 'forbidden');
      const completed = await harness.posthog.waitFor(
        (e) => e.event === 'privacy.redaction.completed' && e.properties.shop_id === shop,
        5_000,
      );
      expect(
        Object.keys(completed.properties)
          .filter((key) => !key.startsWith('$'))
          .sort(),
      ).toEqual(['kind', 'lines_redacted', 'objects_deleted', 'orders_redacted', 'shop_id'].sort());

      // Redelivered: the same id, nothing new started or counted.
      expect((await deliver('customers/redact', body)).json()).toEqual({ redaction_id });
      expect((await get(`/v1/shops/${shop}/redactions/${redaction_id}`)).json()).toEqual(status.json());
      // The order comes again (or late): its lines start nothing.
      const late = await deliver(
        'orders/create',
        orderPayload(
          redactedOrder,
          [gone1, gone2].map((id) => ({ id, properties: personalized(`pers-${id}`) })),
          shop,
        ),
      );
      expect(late.json()).toEqual({
        accepted: [],
        ignored: [
          { order_line_id: gone1, reason: 'redacted' },
          { order_line_id: gone2, reason: 'redacted' },
        ],
      });
      // Neither the database nor the log ever held the customer's contact.
      const stored = JSON.stringify(
        await Promise.all([
          harness.db.selectFrom('redactions').selectAll().execute(),
          harness.db.selectFrom('data_requests').selectAll().execute(),
        ]),
      );
      for (const text of [stored, logLines.join('')]) {
        expect(text).not.toContain(CUSTOMER_EMAIL);
        expect(text).not.toContain(CUSTOMER_PHONE);
      }
    },
    WITH_DELETION,
  );

  it(
    'before its orders/create: the lines are ignored as redacted',
    async () => {
      const orderId = bigId();
      const line = bigId();
      const response = await deliver('customers/redact', customerRedactPayload(shop, bigId(), [orderId]));
      expect(await redactionDone(response.json<{ redaction_id: string }>().redaction_id)).toEqual({
        orders_redacted: 1,
        lines_redacted: 0,
        objects_deleted: 0,
      });
      const create = await deliver('orders/create', orderPayload(orderId, [{ id: line, properties: personalized(`pers-${line}`) }], shop));
      expect(create.json()).toEqual({ accepted: [], ignored: [{ order_line_id: line, reason: 'redacted' }] });
      expect(await executionGone(fulfillmentWorkflowId({ shop_id: shop, order_line_id: line }))).toBe(true);
    },
    WITH_DELETION,
  );

  it('in force once answered: an orders/create right after it, before the workflow has run, starts nothing', async () => {
    // A task queue no worker polls: the redaction's workflow is started and never runs.
    const idle = await buildTestApp({ ...deps, temporal: { client: harness.client, taskQueue: `idle-${bigId()}` } });
    try {
      const orderId = bigId();
      const line = bigId();
      expect((await deliver('customers/redact', customerRedactPayload(shop, bigId(), [orderId]), { target: idle })).statusCode).toBe(200);
      const create = await deliver('orders/create', orderPayload(orderId, [{ id: line, properties: personalized(`pers-${line}`) }], shop), {
        target: idle,
      });
      expect(create.json()).toEqual({ accepted: [], ignored: [{ order_line_id: line, reason: 'redacted' }] });
    } finally {
      await idle.close();
    }
  });

  it(
    'stops a line waiting for its preview: the workflow ends, the job and line are erased',
    async () => {
      const line = bigId();
      const orderId = bigId();
      await recordPreviewJob(
        harness.db,
        { shop_id: shop, personalization_id: `pers-${line}`, job_id: `job-${line}`, status: 'rendering' },
        PREVIEW_BUCKET,
      );
      await deliver('orders/create', orderPayload(orderId, [{ id: line, properties: personalized(`pers-${line}`) }], shop));
      const workflowId = fulfillmentWorkflowId({ shop_id: shop, order_line_id: line });
      await harness.waitForStatus(workflowId, 'waiting_for_preview');

      const response = await deliver('customers/redact', customerRedactPayload(shop, bigId(), [orderId]));
      expect(await redactionDone(response.json<{ redaction_id: string }>().redaction_id)).toEqual({
        orders_redacted: 1,
        lines_redacted: 1,
        objects_deleted: 0,
      });
      expect(await executionGone(workflowId)).toBe(true);
      expect((await get(`/v1/shops/${shop}/order-lines/${line}`)).json()).toMatchObject({ status: 'redacted' });
      expect(
        await harness.db
          .selectFrom('preview_jobs')
          .select('job_id')
          .where('shop_id', '=', shop)
          .where('personalization_id', '=', `pers-${line}`)
          .execute(),
      ).toEqual([]);
    },
    WITH_DELETION,
  );

  it("naming another shop's orders erases nothing of theirs", async () => {
    const theirs = bigId();
    const theirOrder = await persistedOrder(otherShop, [theirs]);
    const before = await objectsUnder(otherShop);
    expect(before.size).toBe(2);
    const response = await deliver('customers/redact', customerRedactPayload(shop, bigId(), [theirOrder]));
    expect(await redactionDone(response.json<{ redaction_id: string }>().redaction_id)).toEqual({
      orders_redacted: 1,
      lines_redacted: 0,
      objects_deleted: 0,
    });
    expect(await objectsUnder(otherShop)).toEqual(before);
    expect((await get(`/v1/shops/${otherShop}/order-lines/${theirs}`)).json()).toMatchObject({ status: 'persisted' });
    const theirRow = await harness.db
      .selectFrom('orders')
      .selectAll()
      .where('shop_id', '=', otherShop)
      .where('order_id', '=', theirOrder)
      .executeTakeFirstOrThrow();
    expect(theirRow.redacted_at).toBeNull();
  });
});

describe('shop/redact', () => {
  it("erases every line and every object under the shop's folders and its reports; other shops keep theirs", async () => {
    const redactShop = `gone-${randomBytes(4).toString('hex')}.myshopify.com`;
    const [first, second] = [bigId(), bigId()];
    const lines = [first, second];
    await persistedOrder(redactShop, [first]);
    await persistedOrder(redactShop, [second]);
    await harness.put(PREVIEW_BUCKET, `${redactShop}/drafts/unclaimed.png`, makePng(4, 4));
    const requestId = bigId();
    await deliver('customers/data_request', dataRequestPayload(redactShop, bigId(), requestId, []), { shop: redactShop });
    const others = await objectsUnder(otherShop);

    const body = shopRedactPayload(redactShop);
    const response = await deliver('shop/redact', body, { shop: redactShop });
    expect(response.statusCode, response.body).toBe(200);
    const { redaction_id } = response.json<{ redaction_id: string }>();
    expect(await redactionDone(redaction_id, redactShop)).toEqual({ orders_redacted: 2, lines_redacted: 2, objects_deleted: 5 });
    expect((await deliver('shop/redact', body, { shop: redactShop })).json()).toEqual({ redaction_id });

    expect((await objectsUnder(redactShop)).size).toBe(0);
    expect(await objectsUnder(otherShop)).toEqual(others);
    expectError(await get(`/v1/shops/${redactShop}/data-requests/${requestId}`), 404, 'not_found');
    for (const line of lines)
      expect((await get(`/v1/shops/${redactShop}/order-lines/${line}`)).json()).toMatchObject({ status: 'redacted' });
    expect(await harness.db.selectFrom('preview_jobs').select('job_id').where('shop_id', '=', redactShop).execute()).toEqual([]);
    expect((await get(`/v1/shops/${redactShop}/redactions/${redaction_id}`)).json()).toMatchObject({ kind: 'shop', status: 'completed' });
  });

  it('a shop that reinstalled and left again is redacted again: a new redaction_id erases what came since; its redelivery answers the same', async () => {
    const redactShop = `back-${randomBytes(4).toString('hex')}.myshopify.com`;
    const [before, after] = [bigId(), bigId()];
    await persistedOrder(redactShop, [before]);
    const body = shopRedactPayload(redactShop);
    const { redaction_id: first } = (await deliver('shop/redact', body, { shop: redactShop })).json<{ redaction_id: string }>();
    expect(await redactionDone(first, redactShop)).toMatchObject({ lines_redacted: 1 });

    // Reinstalled: a new order is fulfilled, then the shop uninstalls again.
    await persistedOrder(redactShop, [after]);
    const again = await deliver('shop/redact', body, { shop: redactShop });
    expect(again.statusCode, again.body).toBe(200);
    const { redaction_id: second } = again.json<{ redaction_id: string }>();
    expect(second).not.toBe(first);
    expect(await redactionDone(second, redactShop)).toMatchObject({ lines_redacted: 1 });
    expect((await deliver('shop/redact', body, { shop: redactShop })).json()).toEqual({ redaction_id: second });

    expect((await get(`/v1/shops/${redactShop}/order-lines/${after}`)).json()).toMatchObject({ status: 'redacted' });
    expect((await objectsUnder(redactShop)).size).toBe(0);
    expect((await get(`/v1/shops/${redactShop}/redactions/${first}`)).json()).toMatchObject({ kind: 'shop', status: 'completed' });
    expect((await get(`/v1/shops/${redactShop}/redactions/${second}`)).json()).toMatchObject({ kind: 'shop', status: 'completed' });
  });
});

describe('hostile privacy deliveries', () => {
  const cases: [string, string, string][] = [
    ['customers/redact', 'not json {', 'invalid_payload'],
    [
      'customers/redact',
      `{ "shop_id": 1, "shop_domain": "${shop}", "customer": { "id": 5 }, "orders_to_redact": "all" }`,
      'invalid_payload',
    ],
    [
      'customers/redact',
      `{ "shop_id": 1, "shop_domain": "${shop}", "customer": { "id": -5 }, "orders_to_redact": [1] }`,
      'invalid_payload',
    ],
    [
      'customers/redact',
      `{ "shop_id": 1, "shop_domain": "${shop}", "customer": { "id": 5 }, "orders_to_redact": [1.5] }`,
      'invalid_payload',
    ],
    ['customers/redact', customerRedactPayload(otherShop, bigId(), [bigId()]), 'invalid_payload'],
    [
      'customers/data_request',
      `{ "shop_id": 1, "shop_domain": "${shop}", "orders_requested": [1], "customer": { "id": 5 } }`,
      'invalid_payload',
    ],
    ['customers/data_request', '[]', 'invalid_payload'],
    ['shop/redact', `{ "shop_id": 1, "shop_domain": ${JSON.stringify(otherShop)} }`, 'invalid_payload'],
    ['shop/redact', '{ "shop_id": "x" }', 'invalid_payload'],
    ['customers/redact', `{ "orders_to_redact": [${'1,'.repeat(WEBHOOK_BODY_LIMIT / 2)}1] }`, 'payload_too_large'],
  ];

  it.each(cases)('%s with a bad body (%#) gets the envelope and starts nothing', async (topic, body, code) => {
    const hostileShop = `hostile-${randomBytes(4).toString('hex')}.myshopify.com`;
    const response = await deliver(topic, body.replaceAll(shop, hostileShop), { shop: hostileShop });
    expectError(response, code === 'payload_too_large' ? 413 : 400, code);
    for (const table of ['redactions', 'data_requests'] as const) {
      expect(await harness.db.selectFrom(table).select('shop_id').where('shop_id', '=', hostileShop).execute()).toEqual([]);
    }
  });

  it('answers 503 temporal_unavailable when the redaction cannot be started; the redelivery starts it', async () => {
    const orderId = bigId();
    const body = customerRedactPayload(shop, bigId(), [orderId]);
    expectError(await deliver('customers/redact', body, { target: deadApp }), 503, 'temporal_unavailable');
    const { redaction_id } = (await deliver('customers/redact', body)).json<{ redaction_id: string }>();
    expect(await redactionDone(redaction_id)).toMatchObject({ orders_redacted: 1 });
  });
});
