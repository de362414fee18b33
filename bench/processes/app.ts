import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import proto from '@temporalio/proto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createActivities } from '../../src/activities/index.js';
import { buildApp } from '../../src/api/app.js';
import { connectTemporalClient, serveApi } from '../../src/api/serve.js';
import { getOrderLineView } from '../../src/db/repositories/order-lines.js';
import { signLocalUrl } from '../../src/storage/local/local-signature.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import { loadConfig } from '../../src/config/config.js';
import { persistFinalAsset as recordFinalAsset } from '../../src/db/repositories/final-assets.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS, type FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Adapters } from '../../src/adapters.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { makePng } from '../../test/support/images.js';
import { serveChild } from '../lib/child.js';
import { PREVIEW_BUCKET, PRINT_BUCKET } from '../lib/context.js';
import { openDatabase, type DatabaseSpec } from '../lib/environment.js';
import { lineInput, nextId } from '../lib/ids.js';
import { pngWithFiller } from '../../test/support/images.js';
import type { WorkerSettings } from '../lib/worker-settings.js';
import { createNoopActivities } from '../workflows/noop-activities.js';
import { must } from '../../test/support/must.js';

/**
 * One bench process: printready's API (real Fastify app, listening), a worker (FulfillOrderLine
 * or the no-op baseline), or both, on a database of the scenario's own and local storage.
 * The parent drives it over IPC (seed data, start workflows directly, count lines).
 */
export interface AppProcessOptions {
  temporalAddress: string;
  taskQueue: string;
  database: DatabaseSpec;
  storageRoot: string;
  signingSecret: string;
  webhookSecret: string;
  apiToken: string;
  logLevel: string;
  /**
   * The API on `port`; `barePort` adds the baselines' bare routes, on a second app built by the
   * API's own `buildApp` (same Fastify configuration, plugins, logging): `POST /bare/start`
   * makes the intake's exact starts, `POST /bare/sign/:shop/:line` the signed-URL issue's
   * database lookup and HMAC, `GET /bare/files/:bucket/*` streams a file from disk.
   */
  api?: { port: number; barePort?: number };
  /** A PostHog stand-in's URL: telemetry goes there (real client) instead of nowhere. */
  posthogHost?: string;
  worker?: { kind: 'fulfillment' | 'noop'; bundlePath: string; settings: WorkerSettings };
}

export interface StartWorkflowsArgs {
  shop: string;
  units: number;
  perUnit: number;
  concurrency: number;
  /** A bare client.workflow.start of this workflow type (the end-to-end no-op baseline's). */
  workflow: string;
  /** Default: the API's task queue. */
  taskQueue?: string;
}

export interface StartWorkflowsResult {
  elapsedMs: number;
  latenciesMs: number[];
}

const EventType = proto.temporal.api.enums.v1.EventType;

/**
 * Time the database pool makes callers wait for a connection (the drain's "pool wait"):
 * `pg.Pool#connect`, which Kysely calls for every query, timed from call to hand-over.
 */
const poolWait = { acquisitions: 0, totalMs: 0, maxMs: 0 };
// eslint-disable-next-line @typescript-eslint/unbound-method -- the original method, called below with the pool as `this`
const connect = pg.Pool.prototype.connect as (this: pg.Pool) => Promise<pg.PoolClient>;
pg.Pool.prototype.connect = function timedConnect(this: pg.Pool, ...args: unknown[]) {
  const asked = performance.now();
  const acquired = (connect as (...rest: unknown[]) => Promise<pg.PoolClient> | undefined).apply(this, args);
  void acquired?.then(
    () => {
      const waited = performance.now() - asked;
      poolWait.acquisitions++;
      poolWait.totalMs += waited;
      poolWait.maxMs = Math.max(poolWait.maxMs, waited);
    },
    () => undefined,
  );
  return acquired;
} as typeof pg.Pool.prototype.connect;

serveChild(async (options: AppProcessOptions) => {
  const port = options.api?.port ?? 0;
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: options.storageRoot,
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    SHOPIFY_WEBHOOK_SECRETS: options.webhookSecret,
    API_TOKENS: `${options.apiToken}=*`,
    LOCAL_SIGNING_SECRET: options.signingSecret,
    LOG_LEVEL: options.logLevel,
  });
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };

  const db = await openDatabase(options.database);
  closers.push(() => db.destroy());
  const storage = new LocalStorage({
    root: options.storageRoot,
    publicBaseUrl: `http://127.0.0.1:${port}`,
    signingSecret: options.signingSecret,
  });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  const telemetry = createTelemetry({
    apiKey: options.posthogHost ? 'phc_bench' : undefined,
    host: options.posthogHost ?? 'http://127.0.0.1:9',
  });
  closers.push(() => telemetry.shutdown());
  const services: Adapters = { db, storage, telemetry, close: () => Promise.resolve() };

  let client: Client | undefined;
  let app: FastifyInstance | undefined;
  if (options.api) {
    const logger = createLogger({ level: config.LOG_LEVEL, name: 'printready-api' });
    const apiClient = await connectTemporalClient(config, options.temporalAddress);
    client = apiClient;
    closers.push(() => apiClient.connection.close());
    const apiApp = await serveApi(config, services, apiClient, logger);
    app = apiApp;
    closers.push(() => apiApp.close());
    if (options.api.barePort) {
      const bare = await buildApp({
        config,
        db,
        storage,
        telemetry,
        temporal: { client: apiClient, taskQueue: config.TEMPORAL_TASK_QUEUE },
        logger,
      });
      bare.post('/bare/start', async (request) => {
        const lines = (request.body as { lines: FulfillmentInput[] }).lines;
        await Promise.all(
          lines.map((input) =>
            startFulfillment(
              apiClient,
              { taskQueue: apiApp.services.temporal.taskQueue, previewWaitSeconds: config.PREVIEW_WAIT_SECONDS },
              input,
            ),
          ),
        );
        return { started: lines.length };
      });
      bare.post('/bare/sign/:shop/:line', async (request) => {
        const { shop, line } = request.params as { shop: string; line: string };
        const asset = (await getOrderLineView(db, { shop_id: shop, order_line_id: line }))?.final_asset;
        if (!asset) throw new Error(`no asset for ${shop}/${line}`);
        const expires = Math.floor(Date.now() / 1000) + 3600;
        return {
          url: signLocalUrl(
            `http://127.0.0.1:${port}`,
            { ref: { bucket: asset.bucket, path: asset.path }, expires },
            options.signingSecret,
          ),
        };
      });
      bare.get('/bare/files/:bucket/*', (request, reply) => {
        const { bucket, '*': objectPath } = request.params as { bucket: string; '*': string };
        return reply
          .type('image/png')
          .send(createReadStream(path.join(options.storageRoot, bucket, objectPath), { highWaterMark: 1024 * 1024 }));
      });
      await bare.listen({ port: options.api.barePort, host: '127.0.0.1' });
      closers.push(() => bare.close());
    }
  }

  const noop = { completed: 0 };
  if (options.worker) {
    const { kind, bundlePath, settings } = options.worker;
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const connection = await NativeConnection.connect({ address: options.temporalAddress });
    const common = { connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: options.taskQueue };
    let worker: Worker;
    if (kind === 'fulfillment') {
      const activities = createActivities({
        db,
        storage,
        telemetry,
        temporal: {
          client: new Client({ connection: Connection.lazy({ address: options.temporalAddress }) }),
          taskQueue: options.taskQueue,
        },
        printBucket: PRINT_BUCKET,
        previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
      });
      worker = await createFulfillmentWorker({ ...common, activities, workflowBundlePath: bundlePath, ...settings });
    } else {
      worker = await Worker.create({
        ...common,
        activities: createNoopActivities(noop),
        workflowBundle: { codePath: bundlePath },
        shutdownGraceTime: '30s',
        ...settings,
      });
    }
    const running = worker.run();
    // Last in, first out: the worker stops before the database it uses closes.
    closers.push(async () => {
      worker.shutdown();
      await running;
      await connection.close();
    });
  }

  const handlers = {
    /** Ready preview jobs with small, distinct PNGs in the preview bucket: `${prefix}-${i}`. */
    async seedPreviews({ shop, prefix, count }: { shop: string; prefix: string; count: number }) {
      const rows = [];
      for (let i = 0; i < count; i++) {
        const objectPath = `${shop}/${prefix}-${i}.png`;
        const file = path.join(options.storageRoot, PREVIEW_BUCKET, objectPath);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, makePng(64 + (i % 64), 48, [i % 256, (i >> 8) % 256, 77]));
        rows.push({
          shop_id: shop,
          personalization_id: `${prefix}-${i}`,
          job_id: `job-${prefix}-${i}`,
          status: 'ready' as const,
          bucket: PREVIEW_BUCKET,
          path: objectPath,
          content_type: 'image/png',
        });
      }
      for (let i = 0; i < rows.length; i += 500)
        await db
          .insertInto('preview_jobs')
          .values(rows.slice(i, i + 500))
          .execute();
      return count;
    },

    async countLines({ shop, status }: { shop: string; status: string }) {
      const row = await db
        .selectFrom('order_lines')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('shop_id', '=', shop)
        .where('status', '=', status as 'persisted')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** `count` persisted lines, each with a final asset of its own: `sizeBytes` of PNG in the print bucket. */
    async seedAssets({ shop, sizeBytes, count }: { shop: string; sizeBytes: number; count: number }) {
      const seeded: { orderLineId: string; path: string }[] = [];
      for (let i = 0; i < count; i++) {
        const orderLineId = nextId();
        const bytes = pngWithFiller(sizeBytes);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const objectPath = `${shop}/${orderLineId}/${sha256}.png`;
        const file = path.join(options.storageRoot, PRINT_BUCKET, objectPath);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, bytes);
        await recordFinalAsset(
          db,
          { shop_id: shop, order_line_id: orderLineId, order_id: nextId(), personalization_id: `pers-${orderLineId}` },
          {
            bucket: PRINT_BUCKET,
            path: objectPath,
            sha256,
            size_bytes: bytes.length,
            content_type: 'image/png',
            width: 1024,
            height: 1024,
            source_bucket: PREVIEW_BUCKET,
            source_path: objectPath,
            job_id: `job-${orderLineId}`,
          },
        );
        seeded.push({ orderLineId, path: objectPath });
      }
      return seeded;
    },

    /** Workflows of `taskQueue` in `status` (`Completed`, `Running`…), from the server's visibility. */
    async countWorkflows({ taskQueue, status }: { taskQueue: string; status: string }) {
      if (!client) throw new Error('no Temporal client in this process');
      return (await client.workflow.count(`TaskQueue="${taskQueue}" AND ExecutionStatus="${status}"`)).count;
    },

    /** Events, workflow tasks and activities in the history of one completed workflow of `taskQueue`. */
    async history({ taskQueue }: { taskQueue: string }) {
      if (!client) throw new Error('no Temporal client in this process');
      for await (const execution of client.workflow.list({
        query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Completed"`,
        pageSize: 1,
      })) {
        const events = (await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory()).events ?? [];
        const count = (type: proto.temporal.api.enums.v1.EventType) => events.filter((event) => event.eventType === type).length;
        return {
          workflowId: execution.workflowId,
          events: events.length,
          workflowTasks: count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
          activities: count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        };
      }
      throw new Error(`no completed workflow on ${taskQueue}`);
    },

    /** When each persisted line of `shop` was last written (ms since the epoch), by personalization id. */
    async persistedAt({ shop }: { shop: string }) {
      const rows = await db
        .selectFrom('order_lines')
        .select(['personalization_id', 'updated_at'])
        .where('shop_id', '=', shop)
        .where('status', '=', 'persisted')
        .execute();
      return rows.map((row) => [row.personalization_id, row.updated_at.getTime()] as const);
    },

    /** The intake baseline: workflow starts straight from this process's Temporal client, `perUnit` at a time. */
    async startWorkflows(args: StartWorkflowsArgs): Promise<StartWorkflowsResult> {
      const starter = client ?? (await connectTemporalClient(config, options.temporalAddress));
      const taskQueue = args.taskQueue ?? app?.services.temporal.taskQueue ?? options.taskQueue;
      const units: FulfillmentInput[][] = Array.from({ length: args.units }, () => {
        const orderId = nextId();
        return Array.from({ length: args.perUnit }, () => lineInput(args.shop, orderId, nextId()));
      });
      const start = (input: FulfillmentInput) =>
        starter.workflow.start(args.workflow, { workflowId: fulfillmentWorkflowId(input), taskQueue, args: [input] });
      const latenciesMs: number[] = [];
      let next = 0;
      const begin = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(args.concurrency, units.length) }, async () => {
          while (next < units.length) {
            const unit = must(units[next++], 'a unit');
            const sent = performance.now();
            await Promise.all(unit.map(start));
            latenciesMs.push(performance.now() - sent);
          }
        }),
      );
      const elapsedMs = performance.now() - begin;
      if (starter !== client) await starter.connection.close();
      return { elapsedMs, latenciesMs };
    },

    noopCompleted: () => noop.completed,

    /** Points the API's starts at another task queue (each run gets a fresh one). */
    setTaskQueue({ taskQueue }: { taskQueue: string }) {
      if (!app) throw new Error('no API in this process');
      app.services.temporal.taskQueue = taskQueue;
      return taskQueue;
    },

    /** Pool waits so far (see `poolWait`); `reset` starts counting again. */
    poolWait({ reset }: { reset?: boolean }) {
      const seen = { ...poolWait };
      if (reset) Object.assign(poolWait, { acquisitions: 0, totalMs: 0, maxMs: 0 });
      return seen;
    },
  };

  return { info: { pid: process.pid }, handlers, close };
});
