import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities, type FulfillmentActivities } from '../../src/activities/index.js';
import type { OrderEventsSettings } from '../../src/activities/order-events.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import type { LineStatus, LineStatusView } from '../../src/domain/line-status.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { SupabaseStorage } from '../../src/storage/supabase/supabase-storage.js';
import type { ObjectStorage } from '../../src/storage/object-storage.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import { runtimeTelemetry } from '../../src/telemetry/metrics/runtime-metrics.js';
import type { Telemetry } from '../../src/telemetry/telemetry.js';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { statusQuery } from '../../src/workflows/definitions.js';
import type { FulfillOrderLine } from '../../src/workflows/fulfill-order-line.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { PREVIEW_BUCKET, PRINT_BUCKET, putLocal, type PutObject } from './fixtures.js';
import { PostHogStandIn } from './posthog-stand-in.js';
import { SupabaseStorageStandIn } from './supabase-storage-stand-in.js';
import type { Teardown } from './teardown.js';

export interface HarnessOptions {
  /** Defaults to the local filesystem backend in a temporary folder. */
  storage?: { storage: ObjectStorage; put: PutObject };
  previewWaitSeconds?: number;
  /** Lets a test hold an activity back or watch it, around the real one. */
  wrapActivities?: (activities: FulfillmentActivities) => FulfillmentActivities;
  /** A dev server of the test's own; the run's shared one by default. */
  temporalAddress?: string;
  /** Where the worker's Temporal SDK metrics are served (the process's one Runtime; the first harness decides). */
  workerMetricsAddress?: string;
  maxCachedWorkflows?: number;
  /** `ORDER_EVENTS_URL` and its secret (events off without). */
  orderEvents?: OrderEventsSettings;
}

/**
 * Everything a workflow test needs, real: the run's Temporal dev server, a worker on a task
 * queue of its own, a fresh Postgres schema, storage, and PostHog's client against a stand-in.
 */
export class FulfillmentHarness {
  private constructor(
    readonly database: TestDatabase,
    readonly storage: ObjectStorage,
    readonly put: PutObject,
    readonly posthog: PostHogStandIn,
    readonly telemetry: Telemetry,
    readonly client: Client,
    readonly taskQueue: string,
    /** What the harness starts lines with, as the API does with `PREVIEW_WAIT_SECONDS`. */
    readonly previewWaitSeconds: number,
    private readonly worker: Worker,
    private readonly running: Promise<void>,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<FulfillmentHarness> {
    quietRuntime(options.workerMetricsAddress ?? null);
    const address = options.temporalAddress ?? inject('temporalAddress');
    const database = await createTestDatabase();
    const storageRoot = await mkdtemp(path.join(os.tmpdir(), 'printready-storage-'));
    const { storage, put } = options.storage ?? {
      storage: new LocalStorage({
        root: storageRoot,
        publicBaseUrl: 'http://127.0.0.1:9',
        signingSecret: randomBytes(32).toString('hex'),
      }),
      put: putLocal(storageRoot),
    };
    await storage.ensureBucket(PREVIEW_BUCKET);
    await storage.ensureBucket(PRINT_BUCKET);
    const posthog = await PostHogStandIn.start();
    const telemetry = createTelemetry({ apiKey: 'phc_test_key', host: posthog.host });
    const client = new Client({ connection: await Connection.connect({ address }) });
    const nativeConnection = await NativeConnection.connect({ address });
    const taskQueue = `test-${randomBytes(6).toString('hex')}`;
    const worker = await createFulfillmentWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundlePath: inject('workflowBundlePath'),
      maxCachedWorkflows: options.maxCachedWorkflows,
      activities: (options.wrapActivities ?? ((activities) => activities))(
        createActivities({
          db: database.db,
          storage,
          telemetry,
          temporal: { client, taskQueue },
          printBucket: PRINT_BUCKET,
          previewWaitSeconds: options.previewWaitSeconds ?? 30,
          orderEvents: options.orderEvents,
        }),
      ),
    });
    const running = worker.run();
    return new FulfillmentHarness(
      database,
      storage,
      put,
      posthog,
      telemetry,
      client,
      taskQueue,
      options.previewWaitSeconds ?? 30,
      worker,
      running,
      async () => {
        await nativeConnection.close();
        await client.connection.close();
        await telemetry.shutdown();
        await posthog.close();
        await database.close();
        await rm(storageRoot, { recursive: true, force: true });
      },
    );
  }

  get db() {
    return this.database.db;
  }

  start(input: FulfillmentInput) {
    return startFulfillment(this.client, { taskQueue: this.taskQueue, previewWaitSeconds: this.previewWaitSeconds }, input);
  }

  handle(workflowId: string): WorkflowHandle<typeof FulfillOrderLine> {
    return this.client.workflow.getHandle(workflowId);
  }

  /** Polls the `status` query until the line reaches `status`. */
  async waitForStatus(workflowId: string, status: LineStatus, timeoutMs = 30_000): Promise<LineStatusView> {
    const deadline = Date.now() + timeoutMs;
    let last: LineStatusView | undefined;
    while (Date.now() < deadline) {
      last = await this.handle(workflowId).query(statusQuery);
      if (last.status === status) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`line ${workflowId} did not reach ${status}; last status: ${JSON.stringify(last)}`);
  }

  async close(): Promise<void> {
    this.worker.shutdown();
    await this.running;
    await this.cleanup();
  }
}

let runtimeInstalled = false;

/** Activity failures are what these tests provoke: the worker need not log each one. */
function quietRuntime(metricsAddress: string | null): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: runtimeTelemetry(metricsAddress) });
  runtimeInstalled = true;
}

/** The harness's storage on Supabase, over HTTP to the stand-in; previews are put as PNGs. */
export function onSupabase(
  standIn: SupabaseStorageStandIn,
  options: { idleTimeoutMs?: number } = {},
): NonNullable<HarnessOptions['storage']> {
  return {
    storage: new SupabaseStorage({ url: standIn.url, serviceKey: standIn.serviceKey, ...options }),
    put: (bucket, path, bytes) => standIn.putObject({ bucket, path }, bytes, 'image/png'),
  };
}

/** Starts a Supabase Storage stand-in and a harness on it, both closed by `teardown`. */
export async function startOnSupabase(teardown: Teardown, options: { idleTimeoutMs?: number } = {}) {
  const standIn = await SupabaseStorageStandIn.start();
  teardown.defer(() => standIn.close());
  const harness = await FulfillmentHarness.start({ storage: onSupabase(standIn, options) });
  teardown.defer(() => harness.close());
  return { standIn, harness };
}
