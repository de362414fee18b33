import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { LineStatusView } from '../../src/domain/line-status.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { testConfig, testCredentials } from '../support/api.js';
import { buildTestApp } from '../support/capture-app.js';
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
import { FulfillmentHarness, onSupabase, type HarnessOptions } from '../support/fulfillment-harness.js';
import type { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import type { Teardown } from '../support/teardown.js';

/** The lifecycle tests' Shopify payloads, for `shop`: ids as 18-digit JSON numbers. */
export const closurePayloads = (shop: string) => {
  const lineItems = (lines: string[]) => lines.map((id) => ({ id, properties: personalized(`pers-${id}`) }));
  const create = (orderId: string, lines: string[]) => orderPayload(orderId, lineItems(lines), shop);
  /** Shopify's order with `cancelled_at` and `cancel_reason` set: `orders/cancelled`, or an order created (or swept) cancelled. */
  const cancelled = (orderId: string, lines: string[]) =>
    create(orderId, lines)
      .replace('"cancel_reason": null', '"cancel_reason": "customer"')
      .replace('"cancelled_at": null', '"cancelled_at": "2026-12-06T10:00:00-05:00"');
  /** Shopify's `refunds/create`. */
  const refund = (refundId: string, orderId: string, items: { line: string; quantity: number; of: number }[]) => `{
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
  return { create, cancelled, refund };
};

/**
 * What the lifecycle tests run against: a worker on the real dev server (the `FulfillmentHarness`),
 * the API over the same database, storage and Temporal, and the calls the tests make of it.
 * Storage is local unless `options.storage` says otherwise.
 */
/**
 * The stack's storage, with what a test does underneath the adapter: put a file as an object
 * (a large preview written to disk once), and list the keys under a prefix.
 */
export type ClosureStorage = NonNullable<HarnessOptions['storage']> & {
  putFile: (bucket: string, key: string, file: string) => Promise<void>;
  keys: (bucket: string, prefix: string) => Promise<string[]>;
};

/** Local storage in `root` (a file put is moved in, not copied). */
export const localClosureStorage = (root: string, signingSecret: string): ClosureStorage => ({
  storage: new LocalStorage({ root, publicBaseUrl: 'http://files.printready.test', signingSecret }),
  put: putLocal(root),
  putFile: async (bucket, key, file) => {
    await mkdir(path.dirname(path.join(root, bucket, key)), { recursive: true });
    await rename(file, path.join(root, bucket, key));
  },
  keys: async (bucket, prefix) =>
    (await readdir(path.join(root, bucket, prefix), { recursive: true }).catch(() => [])).map((name) => path.posix.join(prefix, name)),
});

/** Supabase Storage over HTTP to the stand-in. */
export const supabaseClosureStorage = (standIn: SupabaseStorageStandIn): ClosureStorage => ({
  ...onSupabase(standIn),
  putFile: (bucket, key, file) => standIn.putObject({ bucket, path: key }, { file }, 'image/png'),
  keys: (bucket, prefix) => Promise.resolve(standIn.keys(bucket, `${prefix}/`)),
});

export async function startClosureStack(teardown: Teardown, options: { storage?: ClosureStorage; previewWaitSeconds?: number } = {}) {
  const creds = testCredentials();
  const config = testConfig(creds, { LOG_LEVEL: 'info' });
  const shop = creds.shop;
  let storage = options.storage;
  if (!storage) {
    const root = await mkdtemp(path.join(os.tmpdir(), 'printready-closure-'));
    teardown.defer(() => rm(root, { recursive: true, force: true }));
    storage = localClosureStorage(root, creds.signingSecret);
  }
  // Long enough by default that a rendering preview keeps its line waiting for the whole file.
  const harness = await FulfillmentHarness.start({ storage, previewWaitSeconds: options.previewWaitSeconds ?? 600 });
  teardown.defer(() => harness.close());
  const deps = {
    config,
    db: harness.db,
    storage: harness.storage,
    temporal: { client: harness.client, taskQueue: harness.taskQueue },
    telemetry: harness.telemetry,
    localSigningSecret: creds.signingSecret,
  };
  const app = await buildTestApp(deps);
  teardown.defer(() => app.close());

  const deliver = (topic: string, body: string, target: FastifyInstance = app) =>
    target.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: deliveryHeaders(shop, body, creds.webhookSecret, { topic }),
      payload: body,
    });

  const workflowOf = (line: string) => fulfillmentWorkflowId({ shop_id: shop, order_line_id: line });

  /** The line's preview job, rendering or ready (a small PNG put in the preview bucket). */
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

  const { keys, putFile } = storage;
  return {
    creds,
    config,
    shop,
    harness,
    app,
    deps,
    payloads: closurePayloads(shop),
    deliver,
    workflowOf,
    givenPreview,
    outcome,
    lineView: async (line: string): Promise<LineStatusView> =>
      (
        await app.inject({ url: `/v1/shops/${shop}/order-lines/${line}`, headers: { authorization: `Bearer ${creds.operatorToken}` } })
      ).json(),
    signedUrl: (line: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/shops/${shop}/order-lines/${line}/final-asset/signed-url`,
        headers: { authorization: `Bearer ${creds.merchantToken}` },
        payload: {},
      }),
    retry: (line: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/shops/${shop}/order-lines/${line}/retry`,
        headers: { authorization: `Bearer ${creds.operatorToken}` },
      }),
    eventsOf: (name: string, line: string) =>
      harness.posthog.events().filter((e) => e.event === name && e.properties.order_line_id === line),
    assetsOf: (line: string) =>
      harness.db.selectFrom('final_assets').selectAll().where('shop_id', '=', shop).where('order_line_id', '=', line).execute(),
    putFile,
    /** Every object in the line's print folder, read from underneath the adapter. */
    printObjects: (line: string) => keys(PRINT_BUCKET, `${shop}/${line}`),
    orderRow: (orderId: string) =>
      harness.db.selectFrom('orders').selectAll().where('shop_id', '=', shop).where('order_id', '=', orderId).executeTakeFirst(),
  };
}

export type ClosureStack = Awaited<ReturnType<typeof startClosureStack>>;

export const byLine = <T extends { order_line_id: string }>(rows: T[]) =>
  [...rows].sort((a, b) => (a.order_line_id < b.order_line_id ? -1 : 1));
