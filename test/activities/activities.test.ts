import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type FulfillmentActivities } from '../../src/activities/index.js';
import type { PreviewRef } from '../../src/activities/types.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS, type FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { ObjectFolder, ObjectRef, Placement, PlaceCopy, StreamOptions } from '../../src/storage/object-storage.js';
import type { Telemetry, TelemetryEvent } from '../../src/telemetry/telemetry.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { must } from '../support/must.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { Teardown } from '../support/teardown.js';
import {
  givenReadyPreview,
  makePng,
  newLine,
  PREVIEW_BUCKET,
  PRINT_BUCKET,
  putLocal,
  sha256,
  unreachableTemporal,
  uniqueShop,
} from '../support/fixtures.js';
import { lineFolder, listFiles } from '../faults/helpers.js';

class RecordingTelemetry implements Telemetry {
  readonly events: TelemetryEvent[] = [];
  capture(event: TelemetryEvent): void {
    this.events.push(event);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Local storage that remembers the stream options each streaming call was given, and counts copies. */
class WatchedStorage extends LocalStorage {
  readonly inspected: StreamOptions[] = [];
  copies = 0;
  /** Runs as a copy starts. */
  beforeCopy: () => Promise<void> = () => Promise.resolve();
  override inspect(ref: ObjectRef, options: StreamOptions = {}) {
    this.inspected.push(options);
    return super.inspect(ref, options);
  }
  override async copyVerified<P extends Placement>(from: ObjectRef, into: ObjectFolder, place: PlaceCopy<P>, options: StreamOptions = {}) {
    this.copies++;
    this.inspected.push(options);
    await this.beforeCopy();
    return super.copyVerified(from, into, place, options);
  }
}

const shop = uniqueShop('activities');
let database: TestDatabase;
let proxy: TcpProxy;
let proxiedDb: Db;
let storageRoot: string;
let storage: WatchedStorage;
const telemetry = new RecordingTelemetry();
const teardown = new Teardown();

const activitiesOn = (db: Db): FulfillmentActivities =>
  createActivities({
    db,
    storage,
    telemetry,
    temporal: unreachableTemporal(),
    printBucket: PRINT_BUCKET,
    previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
  });

/** Runs `step` in the mock activity context; `run` cannot infer the result's type from `step` alone. */
const inContext = <R>(env: MockActivityEnvironment, step: () => Promise<R>): Promise<R> => env.run<[], R, () => Promise<R>>(step);

const workflowExecution = () => ({ workflowId: `wf-${randomBytes(4).toString('hex')}`, runId: randomBytes(8).toString('hex') });

/** A line's preview, put where the generator would, with its sha256. */
async function givenPreview(line: FulfillmentInput): Promise<PreviewRef & { bytes: Buffer; sha256: string }> {
  const bytes = makePng(24, 12);
  await givenReadyPreview({ db: database.db, put: putLocal(storageRoot) }, line, bytes);
  const ref = { job_id: `job-${line.order_line_id}`, bucket: PREVIEW_BUCKET, path: `${line.shop_id}/${line.personalization_id}.png` };
  return { ...ref, content_type: 'image/png', bytes, sha256: sha256(bytes) };
}

/** A line with a preview, and its persist step in a mock context of its own, heartbeats recorded. */
async function persistStep(heartbeatTimeoutMs: number, db = proxiedDb) {
  const line = newLine({ shop_id: shop });
  const { bytes, sha256, ...preview } = await givenPreview(line);
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs, workflowExecution: workflowExecution() });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const run = () => inContext(env, () => activitiesOn(db).persistPreview(line, preview));
  return { line, preview: { ...preview, bytes, sha256 }, env, heartbeats, run };
}

beforeAll(async () => {
  database = await createTestDatabase();
  teardown.defer(() => database.close());
  const databaseUrl = must(database.url, 'a Postgres database (DATABASE_URL)');
  proxy = await TcpProxy.toPostgres(databaseUrl);
  teardown.defer(() => proxy.close());
  proxiedDb = await connectDatabase({ databaseUrl: proxy.url(databaseUrl), dataDir: '' });
  teardown.defer(() => proxiedDb.destroy());
  storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-activities-'));
  teardown.defer(() => rm(storageRoot, { recursive: true, force: true }));
  storage = new WatchedStorage({ root: storageRoot, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: randomBytes(32).toString('hex') });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
});

afterAll(() => teardown.run());

/**
 * The activities as the worker binds them, run in Temporal's mock activity context: what they
 * take from it (heartbeat timeout, scheduled time, cancellation) and what they do with it.
 */
describe('activities in their Temporal context', () => {
  it('stream with progress reports at a third of the heartbeat timeout', async () => {
    storage.inspected.length = 0;
    await (await persistStep(30_000, database.db)).run();
    expect(storage.inspected).not.toHaveLength(0);
    for (const options of storage.inspected) {
      expect(options).toMatchObject({ progressEveryMs: 10_000 });
      expect(options.onProgress).toBeTypeOf('function');
      expect(options.signal).toBeInstanceOf(AbortSignal);
    }
  });

  it('report a commit with when its activity was first scheduled, the same on every retry', async () => {
    const line = newLine({ shop_id: shop });
    const execution = workflowExecution();
    const firstScheduled = Date.parse('2026-11-29T23:59:58.000Z');
    telemetry.events.length = 0;
    for (const [attempt, scheduledAt] of [
      [1, firstScheduled],
      [2, firstScheduled + 5_000],
    ] as const) {
      const env = new MockActivityEnvironment({
        workflowExecution: execution,
        attempt,
        scheduledTimestampMs: firstScheduled,
        currentAttemptScheduledTimestampMs: scheduledAt,
      });
      await inContext(env, () => activitiesOn(database.db).openLine(line, true));
    }
    const [first, retried] = telemetry.events;
    expect(retried).toEqual(first);
    expect(first?.occurred_at).toEqual(new Date(firstScheduled));
    expect(first?.idempotency_key).toContain(execution.runId);
  });

  it('record the copied asset once Postgres is back, heartbeating meanwhile, instead of spending attempts', async () => {
    const { line, preview, heartbeats, run } = await persistStep(30_000);

    // Postgres answers the lookup before the copy, then goes away while the file is copied.
    storage.copies = 0;
    storage.beforeCopy = () => proxy.cut();
    const persisting = run();
    try {
      await expect.poll(() => heartbeats.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      storage.beforeCopy = () => Promise.resolve();
      await proxy.restore();
    }
    const asset = await persisting;
    expect(asset).toMatchObject({ bucket: PRINT_BUCKET, sha256: preview.sha256, size_bytes: preview.bytes.length });
    expect(heartbeats).toContainEqual({ waiting_for: 'database', failures: 3 });
    expect(storage.copies).toBe(1);
    expect(await listFiles(lineFolder(storageRoot, line))).toEqual([`${preview.sha256}.png`]);
    const row = await database.db
      .selectFrom('order_lines')
      .select('status')
      .where('order_line_id', '=', line.order_line_id)
      .executeTakeFirst();
    expect(row?.status).toBe('persisted');
  });

  it('keep heartbeating through a query that hangs on a server that stopped answering', async () => {
    const { preview, heartbeats, run } = await persistStep(600);

    proxy.holdWhen('insert into "final_assets"');
    const persisting = run();
    try {
      await proxy.waitForHeld(1);
      const before = heartbeats.length;
      await expect.poll(() => heartbeats.length - before, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      proxy.release();
    }
    expect(await persisting).toMatchObject({ bucket: PRINT_BUCKET, sha256: preview.sha256 });
  });

  it('stop waiting for Postgres when the attempt is cancelled', async () => {
    const { env, heartbeats, run } = await persistStep(30_000);
    storage.copies = 0;

    // Postgres is away from the start: a first attempt copies (it looks for no recorded asset), then waits to record.
    await proxy.cut();
    try {
      const persisting = run();
      await expect.poll(() => heartbeats.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      env.cancel();
      await expect(persisting).rejects.toMatchObject({ name: 'CancelledFailure' });
      expect(storage.copies).toBe(1);
    } finally {
      await proxy.restore();
    }
  });
});
