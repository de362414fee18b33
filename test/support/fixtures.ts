/**
 * Test data, in one place: ids, orders as Shopify sends them, order lines, webhook signing,
 * images, previews as the generator leaves them, checksums. Harnesses and stand-ins live beside
 * this module and build on it.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Client, Connection } from '@temporalio/client';
import type { Db } from '../../src/db/connect.js';
import { recordPreviewJob } from '../../src/db/repositories/preview-jobs.js';
import { sampleOrderPayload } from '../../src/demo/sample-order.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import type { ObjectInspection } from '../../src/storage/object-storage.js';
import { signShopifyBody } from '../../src/intake/shopify.js';
import type { TemporalAccess } from '../../src/temporal/temporal-access.js';
import { makePng } from './images.js';

export { makeJpeg, makePng, makeWebp, type Rgb } from './images.js';

export const PREVIEW_BUCKET = 'previews';
export const PRINT_BUCKET = 'print-assets';

// ids

/** An 18-digit Shopify-like id above 2^53, unique enough for a test run. */
export function bigId(): string {
  const id = `${randomInt(1, 10)}${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e9)).padStart(9, '0')}`;
  if (BigInt(id) <= 2n ** 53n) return bigId();
  return id;
}

/** A shop of the test's own, so visibility counts and events are the test's alone. */
export const uniqueShop = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}.myshopify.com`;

// orders and lines

export { sampleOrderPayload as orderPayload, type LineSpec } from '../../src/demo/sample-order.js';

/** A line item's properties as a personalizing storefront sends them. */
export const personalized = (id: string, key = '_personalization_id') => [
  { name: 'Engraving', value: 'For Ada' },
  { name: key, value: id },
];

/** An `orders/create` body whose line items are these lines, personalized. */
export const orderBody = (
  orderId: string,
  lines: Pick<FulfillmentInput, 'order_line_id' | 'personalization_id'>[],
  shop?: string,
): string =>
  sampleOrderPayload(
    orderId,
    lines.map((line) => ({ id: line.order_line_id, properties: personalized(line.personalization_id) })),
    shop,
  );

/** A line of its own for each test: ids are unique within the run. */
export function newLine(overrides: Partial<FulfillmentInput> = {}): FulfillmentInput {
  const order_line_id = overrides.order_line_id ?? bigId();
  return {
    shop_id: 'acme.myshopify.com',
    order_id: bigId(),
    order_line_id,
    personalization_id: `pers-${order_line_id}`,
    webhook_id: `wh-${randomBytes(4).toString('hex')}`,
    received_at: new Date().toISOString(),
    ...overrides,
  };
}

// signing

/** base64 HMAC-SHA256 of the raw body, as Shopify signs a delivery. */
export const hmac = signShopifyBody;

/** Shopify's delivery of `body`, as headers for `fetch` or `inject`. */
export function deliveryHeaders(shop: string, body: string, secret: string, options: { topic?: string; webhookId?: string } = {}) {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': options.topic ?? 'orders/create',
    'x-shopify-shop-domain': shop,
    'x-shopify-webhook-id': options.webhookId ?? `wh-${randomBytes(6).toString('hex')}`,
    'x-shopify-api-version': '2025-07',
    'x-shopify-hmac-sha256': hmac(body, secret),
  };
}

/** Shopify delivering `body` to the API at `base`. */
export const deliverWebhook = (
  base: string,
  shop: string,
  body: string,
  secret: string,
  options: { topic?: string; webhookId?: string } = {},
): Promise<Response> => fetch(`${base}/webhooks/shopify`, { method: 'POST', headers: deliveryHeaders(shop, body, secret, options), body });

// previews

/** Where the generator puts a line's preview in `PREVIEW_BUCKET`. */
export const previewPath = (line: Pick<FulfillmentInput, 'shop_id' | 'personalization_id'>): string =>
  `${line.shop_id}/${line.personalization_id}.png`;

export interface PreviewJobOptions {
  status?: PreviewJob['status'];
  /** Defaults to `previewPath(line)`; only a ready job has one. */
  path?: string;
  /** Defaults to `job-<order_line_id>`. */
  jobId?: string;
  content_type?: 'image/png' | 'image/jpeg';
}

/** A preview job as the generator reports it: recorded, or posted to `/v1/previews`. */
export interface PreviewJob {
  shop_id: string;
  personalization_id: string;
  job_id: string;
  status: 'ready' | 'rendering' | 'failed';
  path?: string;
  content_type?: 'image/png' | 'image/jpeg';
}

/** The preview job the generator reports for `line`; only a ready job has a path and a type. */
export function previewJob(
  line: Pick<FulfillmentInput, 'shop_id' | 'personalization_id' | 'order_line_id'>,
  options: PreviewJobOptions = {},
): PreviewJob {
  const status = options.status ?? 'ready';
  const job: PreviewJob = {
    shop_id: line.shop_id,
    personalization_id: line.personalization_id,
    job_id: options.jobId ?? `job-${line.order_line_id}`,
    status,
  };
  if (status === 'ready') job.path = options.path ?? previewPath(line);
  if (status === 'ready' && options.content_type) job.content_type = options.content_type;
  return job;
}

/** Records the line's preview job as the generator does; returns its path. */
export async function recordJob(db: Db, line: FulfillmentInput, options: PreviewJobOptions = {}): Promise<string> {
  const job = previewJob(line, options);
  await recordPreviewJob(db, job, PREVIEW_BUCKET);
  return options.path ?? previewPath(line);
}

/** Puts an object where the generator would: tests write previews around the service, as it does. */
export type PutObject = (bucket: string, key: string, bytes: Uint8Array) => Promise<void>;

/** `PutObject` for the local backend rooted at `storageRoot`. */
export const putLocal =
  (storageRoot: string): PutObject =>
  async (bucket, key, bytes) => {
    const file = path.join(storageRoot, bucket, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  };

/** Puts a preview where the generator would and records its job as ready. */
export async function givenReadyPreview(
  target: { db: Db; put: PutObject },
  line: FulfillmentInput,
  bytes: Uint8Array,
  options: Omit<PreviewJobOptions, 'status'> = {},
): Promise<{ path: string; sha256: string }> {
  const key = options.path ?? previewPath(line);
  await target.put(PREVIEW_BUCKET, key, bytes);
  return { path: await recordJob(target.db, line, { ...options, path: key }), sha256: sha256(bytes) };
}

/** `POST /v1/previews` at `base`, as the generator hands a job off. */
export const postPreviewJob = (base: string, token: string, job: PreviewJob): Promise<Response> =>
  fetch(`${base}/v1/previews`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(job),
  });

/**
 * A valid PNG of about `megabytes` MiB, streamed to disk: a small image whose bulk is private
 * ancillary chunks (`prVt`), which decoders skip and printready streams through like pixels.
 * `incompressible` fills them with random bytes, for paths where compression would flatter.
 */
export async function writeLargePng(
  file: string,
  megabytes: number,
  options: { incompressible?: boolean } = {},
): Promise<ObjectInspection> {
  await mkdir(path.dirname(file), { recursive: true });
  const [width, height] = [1200, 800];
  const image = makePng(width, height);
  const iend = image.subarray(image.length - 12);
  const body = image.subarray(0, image.length - 12);
  const data = options.incompressible ? randomBytes(1024 * 1024) : Buffer.alloc(1024 * 1024, 0x5a);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('prVt', 4, 'ascii');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);

  const hash = createHash('sha256');
  let size_bytes = 0;
  const out = createWriteStream(file);
  const write = async (bytes: Buffer): Promise<void> => {
    hash.update(bytes);
    size_bytes += bytes.length;
    if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  await write(body);
  for (let i = 0; i < megabytes; i += 1) await write(chunk);
  await write(iend);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { size_bytes, sha256: hash.digest('hex'), image: { content_type: 'image/png', width, height }, truncated: false };
}

// checksums

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Temporal access for activities run outside a worker that never reach the server (a lazy connection to a closed port). */
export const unreachableTemporal = (): TemporalAccess => ({
  client: new Client({ connection: Connection.lazy({ address: '127.0.0.1:9' }) }),
  taskQueue: 'unused',
});
