import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { StorageClient } from '@supabase/storage-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActivities, type FulfillmentActivities } from '../../src/activities/index.js';
import { warmCopyThreads } from '../../src/storage/local/copy-threads.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { ObjectStorage } from '../../src/storage/object-storage.js';
import { SupabaseStorage } from '../../src/storage/supabase/supabase-storage.js';
import type { Telemetry } from '../../src/telemetry/telemetry.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  givenReadyPreview,
  makePng,
  newLine,
  PREVIEW_BUCKET,
  PRINT_BUCKET,
  putLocal,
  recordJob,
  sha256,
  uniqueShop,
  unreachableTemporal,
} from '../support/fixtures.js';
import { pngWithFiller } from '../support/images.js';
import { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS } from '../../src/domain/fulfillment-input.js';

/**
 * A persisted line reads its preview's bytes once (issue 19): verified and copied in one pass,
 * hashed once on the local backend, downloaded once from Supabase (whose copies happen on the
 * server and move no bytes through the worker).
 */
const telemetry: Telemetry = { capture: () => undefined, shutdown: () => Promise.resolve() };
const shop = uniqueShop('reads-once');
let database: TestDatabase | undefined;
let storageRoot: string | undefined;
let standIn: SupabaseStorageStandIn | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-reads-once-'));
  standIn = await SupabaseStorageStandIn.start();
});

/** What `beforeAll` set up. */
function setUp() {
  if (!database || !storageRoot || !standIn) throw new Error('beforeAll did not finish');
  return { db: database.db, storageRoot, standIn };
}

afterAll(async () => {
  await standIn?.close();
  await database?.close();
  if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
});

type PersistPreview = FulfillmentActivities['persistPreview'];

const persist = (storage: ObjectStorage, ...args: Parameters<PersistPreview>): ReturnType<PersistPreview> => {
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'wf-reads-once', runId: randomBytes(8).toString('hex') } });
  const activities = createActivities({
    db: setUp().db,
    storage,
    telemetry,
    temporal: unreachableTemporal(),
    printBucket: PRINT_BUCKET,
    previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
  });
  return env.run<[], Awaited<ReturnType<PersistPreview>>, () => ReturnType<PersistPreview>>(() => activities.persistPreview(...args));
};

/**
 * The bytes this process read (every `read` of every thread, the copy threads' included, from
 * `/proc/self/io`) while `during` runs: the preview's, and the few its database answers take.
 */
async function bytesRead(during: () => Promise<unknown>): Promise<number> {
  const rchar = async () => Number(/^rchar: (\d+)$/m.exec(await readFile('/proc/self/io', 'utf8'))?.[1]);
  const before = await rchar();
  await during();
  return (await rchar()) - before;
}

it('reads the preview once on the local backend: its bytes, no more', async () => {
  const { db, storageRoot } = setUp();
  const storage = new LocalStorage({ root: storageRoot, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: 'unused-here' });
  await storage.ensureBucket(PRINT_BUCKET);
  const line = newLine({ shop_id: shop });
  // Large enough that the database's answers are small beside it, and read by threads already started.
  const png = pngWithFiller(4 * 1024 * 1024);
  await warmCopyThreads();
  await givenReadyPreview({ db, put: putLocal(storageRoot) }, line, png);
  const preview = {
    job_id: `job-${line.order_line_id}`,
    bucket: PREVIEW_BUCKET,
    path: `${line.shop_id}/${line.personalization_id}.png`,
    content_type: 'image/png' as const,
  };

  const read = await bytesRead(async () => {
    expect(await persist(storage, line, preview)).toMatchObject({ sha256: sha256(png), size_bytes: png.length });
  });
  // Once, not twice: what else is read (database answers, this very file's size) is far less than the preview.
  expect(read).toBeGreaterThanOrEqual(png.length);
  expect(read).toBeLessThan(1.5 * png.length);
});

it('downloads the preview once from Supabase', async () => {
  const { db, standIn } = setUp();
  const storage = new SupabaseStorage({ url: standIn.url, serviceKey: standIn.serviceKey });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  const line = newLine({ shop_id: shop });
  const png = makePng(300, 200);
  const key = `${line.shop_id}/${line.personalization_id}.png`;
  const generator = new StorageClient(`${standIn.url}/storage/v1`, {
    apikey: standIn.serviceKey,
    Authorization: `Bearer ${standIn.serviceKey}`,
  });
  const { error } = await generator.from(PREVIEW_BUCKET).upload(key, png, { contentType: 'image/png' });
  if (error) throw error;
  await recordJob(db, line, { path: key });

  const before = standIn.requests.length;
  const asset = await persist(storage, line, {
    job_id: `job-${line.order_line_id}`,
    bucket: PREVIEW_BUCKET,
    path: key,
    content_type: 'image/png',
  });
  expect(asset).toMatchObject({ sha256: sha256(png), size_bytes: png.length });
  const downloads = standIn.requests
    .slice(before)
    .filter(({ method, path: at }) => method === 'GET' && at.startsWith('/object/') && !at.startsWith('/object/info/'));
  expect(downloads).toHaveLength(1);
  expect(await standIn.readObject({ bucket: PRINT_BUCKET, path: asset.path })).toEqual(png);
});
