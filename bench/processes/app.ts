import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import Fastify, { type FastifyInstance } from 'fastify';
import { createActivities } from '../../src/activities/index.js';
import { connectTemporalClient, serveApi } from '../../src/api/serve.js';
import { loadConfig } from '../../src/config/config.js';
import { persistFinalAsset as recordFinalAsset } from '../../src/db/repositories/final-assets.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Services } from '../../src/services.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { startFulfillment } from '../../src/temporal/start-fulfillment.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { FULFILL_ORDER_LINE } from '../../src/workflows/definitions.js';
import { lineSearchAttributes } from '../../src/workflows/search-attributes.js';
import { makePng } from '../../test/support/images.js';
import { serveChild } from '../lib/child.js';
import { openDatabase, type DatabaseSpec } from '../lib/environment.js';
import { lineInput, nextId } from '../lib/ids.js';
import { pngWithFiller } from '../lib/images.js';
import type { WorkerSettings } from '../lib/worker-settings.js';
import { createNoopActivities } from '../workflows/noop-activities.js';

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
  /** The API on `port`; `barePort` adds the signed-URL baseline: a bare Fastify serving the asset from memory. */
  api?: { port: number; barePort?: number };
  worker?: { kind: 'fulfillment' | 'noop'; bundlePath: string; settings: WorkerSettings };
}

export const PREVIEW_BUCKET = 'previews';
export const PRINT_BUCKET = 'print-assets';

export interface StartWorkflowsArgs {
  shop: string;
  units: number;
  perUnit: number;
  concurrency: number;
  /** `plain`: a bare client.workflow.start of `workflow`; `printready`: with the intake's start options (search attributes, summary…). */
  mode: 'plain' | 'printready';
  workflow: string;
  /** Default: the API's task queue. */
  taskQueue?: string;
}

export interface StartWorkflowsResult {
  elapsedMs: number;
  latenciesMs: number[];
}

serveChild<AppProcessOptions>(async (options) => {
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
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };

  const db = await openDatabase(options.database, options.worker?.settings.poolSize);
  closers.push(() => db.destroy());
  const storage = new LocalStorage({
    root: options.storageRoot,
    publicBaseUrl: `http://127.0.0.1:${port}`,
    signingSecret: options.signingSecret,
  });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  const telemetry = new NoopTelemetry();
  const services: Services = { db, storage, telemetry, close: async () => undefined };

  let client: Client | undefined;
  let app: FastifyInstance | undefined;
  let assetBytes: Buffer = Buffer.alloc(0);
  if (options.api) {
    const logger = createLogger({ level: config.LOG_LEVEL, name: 'printready-api' });
    const apiClient = await connectTemporalClient(config, options.temporalAddress);
    client = apiClient;
    closers.push(() => apiClient.connection.close());
    const apiApp = await serveApi(config, services, apiClient, logger);
    app = apiApp;
    closers.push(() => apiApp.close());
    if (options.api.barePort) {
      const bare = Fastify();
      bare.get('/bytes', (_request, reply) => reply.type('image/png').send(assetBytes));
      await bare.listen({ port: options.api.barePort, host: '127.0.0.1' });
      closers.push(() => bare.close());
    }
  }

  const noop = { completed: 0 };
  if (options.worker) {
    const { kind, bundlePath, settings } = options.worker;
    const { poolSize: _poolSize, ...tuning } = settings;
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const connection = await NativeConnection.connect({ address: options.temporalAddress });
    const common = { connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: options.taskQueue };
    let worker: Worker;
    if (kind === 'fulfillment') {
      const activities = createActivities({
        db,
        storage,
        telemetry,
        printBucket: PRINT_BUCKET,
      });
      // The product's worker; knobs it does not take (the tuning sweep) go straight to the SDK.
      const onlyProductKnobs = Object.keys(tuning).every((key) => key.endsWith('TaskExecutions'));
      worker = onlyProductKnobs
        ? await createFulfillmentWorker({ ...common, activities, workflowBundlePath: bundlePath, ...tuning })
        : await Worker.create({ ...common, activities, workflowBundle: { codePath: bundlePath }, shutdownGraceTime: '30s', ...tuning });
    } else {
      worker = await Worker.create({
        ...common,
        activities: createNoopActivities(noop),
        workflowBundle: { codePath: bundlePath },
        shutdownGraceTime: '30s',
        ...tuning,
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
      for (let i = 0; i < rows.length; i += 500) await db.insertInto('preview_jobs').values(rows.slice(i, i + 500)).execute();
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

    /** A persisted line whose final asset is `sizeBytes` of PNG in the print bucket (and the bare route's bytes). */
    async seedAsset({ shop, sizeBytes }: { shop: string; sizeBytes: number }) {
      const orderLineId = nextId();
      const bytes = pngWithFiller(sizeBytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const objectPath = `${shop}/${orderLineId}/${sha256}.png`;
      const file = path.join(options.storageRoot, PRINT_BUCKET, objectPath);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
      await recordFinalAsset(db, { shop_id: shop, order_line_id: orderLineId, order_id: nextId(), personalization_id: `pers-${orderLineId}` }, {
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
      });
      assetBytes = bytes;
      return { orderLineId };
    },

    /** The intake baseline: workflow starts straight from this process's Temporal client, `perUnit` at a time. */
    async startWorkflows(args: StartWorkflowsArgs): Promise<StartWorkflowsResult> {
      const starter = client ?? (await connectTemporalClient(config, options.temporalAddress));
      const taskQueue = args.taskQueue ?? app?.services.temporal.taskQueue ?? options.taskQueue;
      const units: FulfillmentInput[][] = Array.from({ length: args.units }, () => {
        const orderId = nextId();
        return Array.from({ length: args.perUnit }, () => lineInput(args.shop, orderId, nextId()));
      });
      const start = (input: FulfillmentInput) => {
        if (args.mode === 'plain') {
          return starter.workflow.start(args.workflow, { workflowId: fulfillmentWorkflowId(input), taskQueue, args: [input] });
        }
        if (args.workflow === FULFILL_ORDER_LINE) return startFulfillment(starter, { taskQueue, previewWaitSeconds: config.PREVIEW_WAIT_SECONDS }, input);
        // Another workflow type with the intake's start options (as in src/temporal/start-fulfillment.ts).
        return starter.workflow.start(args.workflow, {
          workflowId: fulfillmentWorkflowId(input),
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: lineSearchAttributes(input, 'processing'),
          staticSummary: `Order ${input.order_id}, line ${input.order_line_id} of ${input.shop_id}`,
          staticDetails: `Personalization \`${input.personalization_id}\`, webhook \`${input.webhook_id}\`, received ${input.received_at}.`,
        });
      };
      const latenciesMs: number[] = [];
      let next = 0;
      const begin = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(args.concurrency, units.length) }, async () => {
          while (next < units.length) {
            const unit = units[next++]!;
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

    /** Points the API's starts at another task queue (each tuning round gets a fresh one). */
    setTaskQueue({ taskQueue }: { taskQueue: string }) {
      if (!app) throw new Error('no API in this process');
      app.services.temporal.taskQueue = taskQueue;
      return taskQueue;
    },

    memory: () => process.memoryUsage(),
  };

  return { info: { pid: process.pid }, handlers, close };
});
