import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { freePort, testConfig, testCredentials } from '../support/api.js';
import { buildTestApp } from '../support/capture-app.js';
import {
  bigId,
  deliverWebhook,
  makePng,
  orderPayload,
  personalized,
  postPreviewJob,
  PREVIEW_BUCKET,
  putLocal,
} from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { parseSamples, scrape, total, type Sample } from './prometheus-text.js';
import { Teardown } from '../support/teardown.js';

/**
 * After one order (two lines persisted, one failed), the API's `/metrics` and the worker's
 * Temporal SDK endpoint say exactly that: scraped before and after, the counts move by it.
 */
const creds = testCredentials();
const shop = creds.shop;
let harness: FulfillmentHarness;
let app: FastifyInstance;
let storageRoot: string;
let base: string;
let workerMetrics: string;
/** What both endpoints export after the run, for the dashboard's check. */
let apiAfter: Sample[] = [];
let workerAfter: Sample[] = [];

const orderId = bigId();
const [lineA, lineB, lineC] = [bigId(), bigId(), bigId()];
const [persA, persB, persC] = [`pers-a-${bigId()}`, `pers-b-${bigId()}`, `pers-c-${bigId()}`];
const pngA = makePng(30, 20, [200, 30, 30]);
const pngC = makePng(40, 10, [30, 200, 30]);

const teardown = new Teardown();
beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  workerMetrics = `127.0.0.1:${await freePort()}`;
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-metrics-'));
  teardown.defer(() => rm(storageRoot, { recursive: true, force: true }));
  const storage = new LocalStorage({ root: storageRoot, publicBaseUrl: base, signingSecret: creds.signingSecret });
  const put = putLocal(storageRoot);
  harness = await FulfillmentHarness.start({ storage: { storage, put }, previewWaitSeconds: 5, workerMetricsAddress: workerMetrics });
  teardown.defer(() => harness.close());
  app = await buildTestApp({
    config: testConfig(creds, { LOG_LEVEL: 'warn' }),
    db: harness.db,
    storage,
    temporal: { client: harness.client, taskQueue: harness.taskQueue },
    telemetry: harness.telemetry,
    localSigningSecret: creds.signingSecret,
  });
  teardown.defer(() => app.close());
  await app.listen({ port, host: '127.0.0.1' });
});

afterAll(() => teardown.run());

const deliver = (payload: string, topic = 'orders/create', secret = creds.webhookSecret) =>
  deliverWebhook(base, shop, payload, secret, { topic });

const postPreview = (personalizationId: string, path: string) =>
  postPreviewJob(base, creds.merchantToken, {
    shop_id: shop,
    personalization_id: personalizationId,
    job_id: `job-${personalizationId}`,
    status: 'ready',
    path,
    content_type: 'image/png',
  });

/** How much each count moved between two scrapes. */
const moved =
  (before: Sample[], after: Sample[]) =>
  (name: string, labels: Record<string, string> = {}) =>
    total(after, name, labels) - total(before, name, labels);

it('counts one order’s lines, bytes, webhook answers and requests, by route pattern and bounded labels', async () => {
  for (const [pers, png] of [
    [persA, pngA],
    [persC, pngC],
  ] as const) {
    await harness.put(PREVIEW_BUCKET, `${shop}/${pers}.png`, png);
    expect((await postPreview(pers, `${shop}/${pers}.png`)).status).toBe(201);
  }
  const before = await scrape(`${base}/metrics`);
  const workerBefore = await scrape(`http://${workerMetrics}/metrics`);

  const body = orderPayload(
    orderId,
    [
      { id: lineA, properties: personalized(persA) },
      { id: lineB, properties: personalized(persB) }, // no preview: fails, preview_not_found
      { id: lineC, properties: personalized(persC) },
    ],
    shop,
  );
  expect((await deliver(body)).status).toBe(200);
  expect((await deliver(body, 'orders/create', 'not-the-secret')).status).toBe(401);
  expect((await deliver('{}', 'app/uninstalled')).status).toBe(200);
  await harness.waitForStatus(fulfillmentWorkflowId({ shop_id: shop, order_line_id: lineA }), 'persisted');
  await harness.waitForStatus(fulfillmentWorkflowId({ shop_id: shop, order_line_id: lineC }), 'persisted');
  await harness.waitForStatus(fulfillmentWorkflowId({ shop_id: shop, order_line_id: lineB }), 'failed');
  const signed = await fetch(`${base}/v1/shops/${shop}/order-lines/${lineA}/final-asset/signed-url`, {
    method: 'POST',
    headers: { authorization: `Bearer ${creds.merchantToken}` },
  });
  expect(signed.status).toBe(200);
  expect((await fetch(`${base}/no/such/${orderId}`)).status).toBe(404);

  const afterText = await (await fetch(`${base}/metrics`)).text();
  apiAfter = parseSamples(afterText);
  const delta = moved(before, apiAfter);
  expect(delta('printready_lines_total', { status: 'processing' })).toBe(3);
  expect(delta('printready_lines_total', { status: 'persisted' })).toBe(2);
  expect(delta('printready_lines_total', { status: 'failed' })).toBe(1);
  expect(delta('printready_lines_total', { status: 'waiting_for_preview' })).toBe(0);
  expect(delta('printready_line_failures_total', { reason_code: 'preview_not_found' })).toBe(1);
  expect(delta('printready_line_failures_total')).toBe(1);
  expect(delta('printready_line_duration_seconds_count')).toBe(2);
  expect(delta('printready_asset_bytes_total', { step: 'verified' })).toBe(pngA.length + pngC.length);
  expect(delta('printready_asset_bytes_total', { step: 'copied' })).toBe(pngA.length + pngC.length);
  expect(delta('printready_signed_urls_total')).toBe(1);
  expect(delta('printready_webhook_deliveries_total', { topic: 'orders/create', outcome: 'accepted' })).toBe(1);
  expect(delta('printready_webhook_deliveries_total', { topic: 'orders/create', outcome: 'invalid_hmac' })).toBe(1);
  expect(delta('printready_webhook_deliveries_total', { topic: 'other', outcome: 'accepted' })).toBe(1);
  expect(delta('http_request_duration_seconds_count', { method: 'POST', route: '/webhooks/shopify', status_code: '200' })).toBe(2);
  expect(
    delta('http_request_duration_seconds_count', { route: '/v1/shops/:shop_id/order-lines/:order_line_id/final-asset/signed-url' }),
  ).toBe(1);
  expect(delta('http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
  // Route patterns, never a shop, an order, a line or a token.
  for (const secret of [shop, orderId, lineA, persA, creds.merchantToken, '/no/such']) expect(afterText).not.toContain(secret);

  workerAfter = await scrape(`http://${workerMetrics}/metrics`);
  const workerDelta = moved(workerBefore, workerAfter);
  const queue = { task_queue: harness.taskQueue };
  // Two workflows completed (persisted); the failed one waits for a retry.
  expect(workerDelta('temporal_workflow_completed', queue)).toBe(2);
  // The preview's lookup is a local activity: its failure counts there.
  expect(workerDelta('temporal_activity_execution_failed', queue) + workerDelta('temporal_local_activity_execution_failed', queue)).toBe(1);
});

it('draws the dashboard only from series the API and the worker export', async () => {
  const dashboard = JSON.parse(await readFile(new URL('../../ops/grafana/dashboards/printready.json', import.meta.url), 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  const exported = new Set([...apiAfter, ...workerAfter].map((sample) => sample.name));
  const queried = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
  expect(queried.length).toBeGreaterThan(0);
  for (const { panel, expr } of queried) {
    const names = expr.match(/\b(?:printready|http_request|temporal|process)_[a-z0-9_]+/g) ?? [];
    expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
    for (const name of names) expect(exported, `${panel} queries ${name}`).toContain(name);
  }
});
