import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { persistFinalAsset } from '../../src/db/repositories/final-assets.js';
import { recordOrderEvent } from '../../src/db/repositories/order-events.js';
import { registerOrderLines } from '../../src/db/repositories/order-lines.js';
import { orderEventWorkflowId, readyForPrintEvent } from '../../src/domain/order-events.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { startOrderEventDelivery } from '../../src/temporal/start-order-event.js';
import type { DeliverOrderEvent } from '../../src/workflows/deliver-order-event.js';
import { registerSecrets } from '../support/capture.js';
import { killAll } from '../support/child-processes.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { makePng, newLine, PREVIEW_BUCKET, PRINT_BUCKET, putLocal, sha256, uniqueShop } from '../support/fixtures.js';
import { must } from '../support/must.js';
import { OrderEventsReceiver } from '../support/order-events-receiver.js';
import { PostHogStandIn } from '../support/posthog-stand-in.js';
import { Teardown } from '../support/teardown.js';
import { startWorkerProcess, type WorkerProcessEnv } from '../support/worker-process.js';

/**
 * `kill -9` of the worker while it waits for the receiver's answer to an order event: a new
 * worker delivers it, with the same id. The first attempt times out (3 s here, a minute in
 * production) and the retry policy sends it again.
 */
const teardown = new Teardown();
let database: TestDatabase;
let receiver: OrderEventsReceiver;
let client: Client;
let env: WorkerProcessEnv;
let storageRoot: string;

beforeAll(async () => {
  database = await createTestDatabase();
  teardown.defer(() => database.close());
  receiver = await OrderEventsReceiver.start();
  teardown.defer(() => receiver.close());
  const posthog = await PostHogStandIn.start();
  teardown.defer(() => posthog.close());
  client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  teardown.defer(() => client.connection.close());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-events-crash-'));
  teardown.defer(() => rm(dataDir, { recursive: true, force: true }));
  const signingSecret = randomBytes(32).toString('hex');
  storageRoot = path.join(dataDir, 'storage');
  const storage = new LocalStorage({ root: storageRoot, publicBaseUrl: 'http://127.0.0.1:9', signingSecret });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  const secret = `oes_${randomBytes(24).toString('hex')}`;
  registerSecrets(secret);
  env = {
    DATABASE_URL: must(database.url, 'a Postgres database (DATABASE_URL)'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `events-crash-${randomBytes(6).toString('hex')}`,
    DATA_DIR: dataDir,
    LOCAL_SIGNING_SECRET: signingSecret,
    POSTHOG_API_KEY: `phc_${randomBytes(12).toString('hex')}`,
    POSTHOG_HOST: posthog.host,
    ORDER_EVENTS_URL: receiver.url,
    ORDER_EVENTS_SECRET: secret,
  };
}, 120_000);

afterAll(async () => {
  await killAll();
  await teardown.run();
});

it('loses no order event when the worker is killed mid-delivery', async () => {
  // A persisted line whose order is ready, its event recorded as the line's step records it.
  const line = newLine({ shop_id: uniqueShop('crash') });
  const bytes = makePng(30, 20);
  const assetPath = `${line.shop_id}/${line.order_line_id}/${sha256(bytes)}.png`;
  await putLocal(storageRoot)(PRINT_BUCKET, assetPath, bytes);
  await registerOrderLines(database.db, [line]);
  await persistFinalAsset(database.db, line, {
    bucket: PRINT_BUCKET,
    path: assetPath,
    sha256: sha256(bytes),
    size_bytes: bytes.length,
    content_type: 'image/png',
    width: 30,
    height: 20,
    source_bucket: PREVIEW_BUCKET,
    source_path: `${line.shop_id}/p.png`,
    job_id: 'job-1',
  });
  const event = readyForPrintEvent(line);
  await recordOrderEvent(database.db, event);

  receiver.answer('hang');
  const first = await startWorkerProcess('events-worker-1', env);
  await startOrderEventDelivery({ client, taskQueue: env.TEMPORAL_TASK_QUEUE }, event, {
    initial_interval_ms: 200,
    maximum_interval_ms: 1_000,
    attempt_timeout_ms: 3_000,
  });
  await eventually(() => (receiver.received.length === 1 ? true : undefined), 'the first attempt in flight', 30_000);
  await first.kill();

  await startWorkerProcess('events-worker-2', env);
  const handle = client.workflow.getHandle<typeof DeliverOrderEvent>(orderEventWorkflowId(event.event_id));
  expect(await handle.result()).toBe('delivered');
  const [lost, delivered] = receiver.received;
  expect(must(lost, 'the attempt of the killed worker').status).toBeNull();
  expect(must(delivered, 'the delivery').status).toBe(200);
  expect(receiver.accepted()).toHaveLength(1);
  expect(new Set(receiver.received.map((received) => received.body.id))).toEqual(new Set([event.event_id]));
  expect(new Set(receiver.received.map((received) => received.body.created_at)).size).toBe(1);
}, 150_000);
