import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { connectTemporalClient } from '../../src/api/serve.js';
import type { Config } from '../../src/config/config.js';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import type { Telemetry } from '../../src/telemetry/telemetry.js';
import { buildTestApp } from '../support/capture-app.js';
import type { Spawned } from '../support/child-processes.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';
import { must } from '../support/must.js';
import { deliverWebhook, orderBody, PREVIEW_BUCKET, PRINT_BUCKET, putLocal, type PutObject } from '../support/fixtures.js';
import { PostHogStandIn } from '../support/posthog-stand-in.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startWorkerProcess, type WorkerProcessEnv } from '../support/worker-process.js';
import { faultConfig, faultCredentials, type FaultCredentials } from './helpers.js';

/**
 * printready as it runs in production, for a fault test: the worker as its own process
 * (`src/worker/main.ts`), the API (`buildApp`, as `start:api` builds it) listening on a free
 * port, both reaching Postgres through a proxy the test can cut, local storage in a temp
 * folder, PostHog's client against a stand-in. Temporal is the run's dev server or the test's own.
 */
export class FaultStack {
  worker: Spawned | undefined;

  private constructor(
    readonly database: TestDatabase,
    readonly proxy: TcpProxy,
    readonly posthog: PostHogStandIn,
    readonly creds: FaultCredentials,
    readonly config: Config,
    readonly dataDir: string,
    readonly storage: LocalStorage,
    readonly apiDb: Db,
    readonly apiTelemetry: Telemetry,
    readonly client: Client,
    readonly app: FastifyInstance,
    readonly base: string,
    readonly workerEnv: WorkerProcessEnv,
    /** The API's log lines (JSON), as written. */
    readonly apiLogs: string[],
  ) {}

  static async start(options: {
    temporalAddress: string;
    name: string;
    apiTemporalTimeoutMs?: number;
    /** Straight to Postgres, without the proxy (whose forwarding costs this process CPU). */
    direct?: boolean;
    /** `PREVIEW_WAIT_SECONDS` (its sixth is how often a waiting line looks by itself, at least a minute). */
    previewWaitSeconds?: number;
  }): Promise<FaultStack> {
    const database = await createTestDatabase();
    const proxy = await TcpProxy.toPostgres(TEST_DATABASE_URL);
    const posthog = await PostHogStandIn.start();
    const creds = faultCredentials();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `printready-${options.name}-`));
    const taskQueue = `${options.name}-${randomBytes(6).toString('hex')}`;
    const databaseUrl = must(database.url, 'a Postgres database (DATABASE_URL)');
    const workerDatabaseUrl = options.direct ? databaseUrl : proxy.url(databaseUrl);
    const config = faultConfig(creds, {
      DATA_DIR: dataDir,
      DATABASE_URL: workerDatabaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      POSTHOG_HOST: posthog.host,
      LOG_LEVEL: 'warn',
      ...(options.previewWaitSeconds === undefined ? {} : { PREVIEW_WAIT_SECONDS: String(options.previewWaitSeconds) }),
    });
    const storage = new LocalStorage({
      root: path.join(dataDir, 'storage'),
      publicBaseUrl: 'http://127.0.0.1:9',
      signingSecret: creds.signingSecret,
    });
    await storage.ensureBucket(PREVIEW_BUCKET);
    await storage.ensureBucket(PRINT_BUCKET);
    // As `createAdapters` connects, with the test schema on the path.
    const apiDb = await connectDatabase({
      databaseUrl: options.direct ? TEST_DATABASE_URL : proxy.url(TEST_DATABASE_URL),
      dataDir,
      schema: must(database.schema, 'the test schema'),
    });
    const apiTelemetry = createTelemetry({ apiKey: creds.posthogKey, host: posthog.host });
    const client = await connectTemporalClient(config, options.temporalAddress);
    const apiLogs: string[] = [];
    const app = await buildTestApp({
      config,
      db: apiDb,
      storage,
      telemetry: apiTelemetry,
      temporal: { client, taskQueue },
      logs: { level: 'info', name: `api-${options.name}`, write: (line) => void apiLogs.push(line) },
      ...(options.apiTemporalTimeoutMs ? { temporalTimeoutMs: options.apiTemporalTimeoutMs } : {}),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const workerEnv: WorkerProcessEnv = {
      DATABASE_URL: workerDatabaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATA_DIR: dataDir,
      LOCAL_SIGNING_SECRET: creds.signingSecret,
      POSTHOG_API_KEY: creds.posthogKey,
      POSTHOG_HOST: posthog.host,
    };
    return new FaultStack(
      database,
      proxy,
      posthog,
      creds,
      config,
      dataDir,
      storage,
      apiDb,
      apiTelemetry,
      client,
      app,
      base,
      workerEnv,
      apiLogs,
    );
  }

  get db(): Db {
    return this.database.db;
  }

  get storageRoot(): string {
    return path.join(this.dataDir, 'storage');
  }

  /** Puts an object into the local backend's folders, as the preview generator would. */
  get put(): PutObject {
    return putLocal(this.storageRoot);
  }

  async startWorker(name: string): Promise<Spawned> {
    this.worker = await startWorkerProcess(name, this.workerEnv);
    return this.worker;
  }

  /** Shopify's delivery of an order with these lines; the same `webhookId` for a redelivery. */
  deliver(
    shop: string,
    orderId: string,
    lines: FulfillmentInput[],
    options: { topic?: string; webhookId?: string } = {},
  ): Promise<Response> {
    return deliverWebhook(this.base, shop, orderBody(orderId, lines), this.creds.webhookSecret, options);
  }

  /** `GET /v1/shops/:shop/order-lines/:line` with the operator token. */
  lineStatus(line: FulfillmentInput): Promise<Response> {
    return fetch(`${this.base}/v1/shops/${line.shop_id}/order-lines/${line.order_line_id}`, {
      headers: { authorization: `Bearer ${this.creds.operatorToken}` },
    });
  }

  /** The line's status as the API reports it; undefined while it does not know the line. */
  async statusOf(line: FulfillmentInput): Promise<string | undefined> {
    const response = await this.lineStatus(line);
    return response.status === 200 ? ((await response.json()) as { status: string }).status : undefined;
  }

  readyz(): Promise<Response> {
    return fetch(`${this.base}/readyz`);
  }

  /** Asset rows, print-bucket objects and unique persisted events, per line of `shop`. */
  async countsPerLine(shop: string): Promise<{ rows: Map<string, number>; events: Map<string, number> }> {
    const assets = await this.db.selectFrom('final_assets').select('order_line_id').where('shop_id', '=', shop).execute();
    const rows = new Map<string, number>();
    for (const { order_line_id } of assets) rows.set(order_line_id, (rows.get(order_line_id) ?? 0) + 1);
    const events = new Map<string, number>();
    for (const event of this.posthog.uniqueByUuid()) {
      if (event.event !== 'fulfillment.asset.persisted' || event.properties.shop_id !== shop) continue;
      const id = String(event.properties.order_line_id);
      events.set(id, (events.get(id) ?? 0) + 1);
    }
    return { rows, events };
  }

  async close(): Promise<void> {
    await this.worker?.stop().catch(() => undefined);
    await this.app.close().catch(() => undefined);
    await this.client.connection.close().catch(() => undefined);
    await this.apiTelemetry.shutdown();
    await this.apiDb.destroy().catch(() => undefined);
    await this.posthog.close();
    await this.proxy.close();
    await this.database.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
