import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Db } from '../../src/db/connect.js';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { LineStatusView } from '../../src/domain/line-status.js';
import type { FulfillOrderLine } from '../../src/workflows/fulfill-order-line.js';
import { makePng } from '../support/images.js';

export const PREVIEW_BUCKET = 'previews';
export const PRINT_BUCKET = 'print-assets';

/** A shop of the test's own, so visibility counts and events are the test's alone. */
export const uniqueShop = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}.myshopify.com`;

/** An 18-digit Shopify-like id (above 2^53), unique enough for a run. */
export const shopifyId = (): string => `${randomInt(1, 10)}${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e9)).padStart(9, '0')}`;

export function newLine(shop: string, order_id = shopifyId()): FulfillmentInput {
  const order_line_id = shopifyId();
  return {
    shop_id: shop,
    order_id,
    order_line_id,
    personalization_id: `pers-${order_line_id}`,
    webhook_id: `wh-${randomBytes(4).toString('hex')}`,
    received_at: new Date().toISOString(),
  };
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file under `dir`, as paths relative to it (none when it does not exist). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Where the local backend keeps a line's objects in the print bucket. */
export const lineFolder = (storageRoot: string, line: FulfillmentInput): string =>
  path.join(storageRoot, PRINT_BUCKET, line.shop_id, line.order_line_id);

/** Writes a preview where the generator would and records its job as ready. */
export async function givenReadyPreview(db: Db, storageRoot: string, line: FulfillmentInput, bytes: Uint8Array): Promise<string> {
  const key = `${line.shop_id}/${line.personalization_id}.png`;
  const file = path.join(storageRoot, PREVIEW_BUCKET, key);
  await mkdir(path.dirname(file), { recursive: true });
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, bytes);
  await recordReady(db, line, key);
  return sha256(bytes);
}

export async function recordReady(db: Db, line: FulfillmentInput, key: string): Promise<void> {
  await recordPreviewJob(
    db,
    { shop_id: line.shop_id, personalization_id: line.personalization_id, job_id: `job-${line.order_line_id}`, status: 'ready', path: key, content_type: 'image/png' },
    PREVIEW_BUCKET,
  );
}

/**
 * A valid PNG of `megabytes` MiB, streamed to disk: a small image whose bulk is private
 * ancillary chunks (`prVt`), which decoders skip and printready streams through like pixels.
 * Returns its SHA-256.
 */
export async function writeLargePng(file: string, megabytes: number): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  const image = makePng(1200, 800);
  const iend = image.subarray(image.length - 12);
  const body = image.subarray(0, image.length - 12);
  const data = Buffer.alloc(1024 * 1024, 0x5a);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('prVt', 4, 'ascii');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);

  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const write = async (bytes: Buffer): Promise<void> => {
    hash.update(bytes);
    if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  await write(body);
  for (let i = 0; i < megabytes; i += 1) await write(chunk);
  await write(iend);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return hash.digest('hex');
}

/** Waits for each line's workflow result (they end once persisted). */
export async function resultsOf(client: Client, lines: FulfillmentInput[]): Promise<LineStatusView[]> {
  return Promise.all(lines.map((line) => client.workflow.getHandle<typeof FulfillOrderLine>(fulfillmentWorkflowId(line)).result()));
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Credentials of a test file: fresh random values, so a leak is unmistakable in the secrets scan. */
export function faultCredentials() {
  return {
    operatorToken: `op_${randomBytes(18).toString('hex')}`,
    webhookSecret: `whsec_${randomBytes(16).toString('hex')}`,
    signingSecret: randomBytes(32).toString('hex'),
    posthogKey: `phc_${randomBytes(12).toString('hex')}`,
  };
}
export type FaultCredentials = ReturnType<typeof faultCredentials>;

export function faultConfig(credentials: FaultCredentials, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    SHOPIFY_WEBHOOK_SECRETS: credentials.webhookSecret,
    API_TOKENS: `${credentials.operatorToken}=*`,
    LOCAL_SIGNING_SECRET: credentials.signingSecret,
    POSTHOG_API_KEY: credentials.posthogKey,
    LOG_LEVEL: 'info',
    ...overrides,
  });
}

/** base64 HMAC-SHA256 of the raw body, as Shopify signs a delivery. */
export const shopifyHmac = (body: string | Buffer, secret: string): string => createHmac('sha256', secret).update(body).digest('base64');

/** An `orders/create` body with exact 18-digit ids (JSON numbers) and personalized lines. */
export function orderBody(orderId: string, lines: { order_line_id: string; personalization_id: string }[]): string {
  const items = lines.map(
    (line, index) =>
      `{"id":${line.order_line_id},"admin_graphql_api_id":"gid://shopify/LineItem/${line.order_line_id}","quantity":1,` +
      `"title":"Custom mug","sku":"MUG-${index}","price":"19.95","product_id":788032119674292922,` +
      `"properties":[{"name":"Engraving","value":"For Ada"},{"name":"_personalization_id","value":${JSON.stringify(line.personalization_id)}}]}`,
  );
  return `{"id":${orderId},"admin_graphql_api_id":"gid://shopify/Order/${orderId}","currency":"EUR","line_items":[${items.join(',')}]}`;
}

/** Shopify's delivery of `body`, as headers for `fetch` or `inject`. */
export function deliveryHeaders(shop: string, body: string, secret: string, topic = 'orders/create', webhookId = `wh-${randomBytes(6).toString('hex')}`) {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': topic,
    'x-shopify-shop-domain': shop,
    'x-shopify-webhook-id': webhookId,
    'x-shopify-api-version': '2025-07',
    'x-shopify-hmac-sha256': shopifyHmac(body, secret),
  };
}
