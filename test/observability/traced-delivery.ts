import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import { tracingClientInterceptors } from '../../src/telemetry/tracing/temporal-tracing.js';
import { tracedStorage } from '../../src/telemetry/tracing/traced-storage.js';
import { startTracing, type Tracing } from '../../src/telemetry/tracing/tracing.js';
import { bundleWorkflows } from '../../src/worker/bundle-workflows.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { freePort, testConfig, testCredentials } from '../support/api.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { bigId, deliveryHeaders, makePng, orderPayload, personalized } from '../support/fixtures.js';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS } from '../../src/domain/fulfillment-input.js';

/** The value, or a failed test naming what was missing. */
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}

const ACTIVITIES = ['openLine', 'persistPreview'];
const SPAN_KIND_SERVER = 2;

/**
 * One delivery over HTTP, traced to a local OTLP receiver in `protocol`: the webhook's server
 * span is the ancestor of the workflow start, the workflow and every activity (and the database
 * calls inside them), all in one trace.
 */
export function tracedDeliveryTest(protocol: 'http/json' | 'http/protobuf'): void {
  const creds = testCredentials();
  const shop = creds.shop;
  let receiver: OtlpReceiver | undefined;
  let tracing: Tracing | undefined;
  let database: TestDatabase | undefined;
  let workDir = '';
  let stop = (): Promise<void> => Promise.resolve();
  let base: string;

  beforeAll(async () => {
    const otlp = await OtlpReceiver.start();
    receiver = otlp;
    tracing = await startTracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_SERVICE_NAME: 'printready-test',
    });
    if (!tracing) throw new Error('tracing did not start');
    // Imported once tracing runs, as the entry points do (the HTTP server's module is patched by then).
    const { buildTestApp } = await import('../support/capture-app.js');
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    workDir = await mkdtemp(path.join(os.tmpdir(), 'printready-traces-'));
    const [bundle, db] = await Promise.all([bundleWorkflows(path.join(workDir, 'traced-bundle.js'), true), createTestDatabase()]);
    database = db;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const storage = new LocalStorage({ root: path.join(workDir, 'storage'), publicBaseUrl: base, signingSecret: creds.signingSecret });
    await storage.ensureBucket('previews');
    await storage.ensureBucket('print-assets');
    const address = inject('temporalAddress');
    const taskQueue = `traced-${bigId()}`;
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, interceptors: tracingClientInterceptors() });
    const native = await NativeConnection.connect({ address });
    const telemetry = createTelemetry({ host: 'http://127.0.0.1:9' });
    const worker = await createFulfillmentWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      workflowBundlePath: bundle,
      tracing,
      // As the worker builds them with tracing configured (`startWorker`).
      activities: createActivities({
        db: db.db,
        storage: tracedStorage(storage),
        telemetry,
        temporal: { client, taskQueue },
        printBucket: 'print-assets',
        previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
      }),
    });
    const running = worker.run();
    const app = await buildTestApp({
      config: testConfig(creds, { LOG_LEVEL: 'warn' }),
      db: db.db,
      storage,
      temporal: { client, taskQueue },
      telemetry,
      localSigningSecret: creds.signingSecret,
    });
    await app.listen({ port, host: '127.0.0.1' });
    stop = async () => {
      await app.close();
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
    };
  });

  afterAll(async () => {
    await stop();
    await tracing?.shutdown();
    await receiver?.close();
    await database?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it(`traces a delivery from the webhook through the workflow and its activities (${protocol})`, async () => {
    const orderId = bigId();
    const line = bigId();
    const pers = `pers-${bigId()}`;
    const key = `${shop}/${pers}.png`;
    await mkdir(path.join(workDir, 'storage', 'previews', shop), { recursive: true });
    await writeFile(path.join(workDir, 'storage', 'previews', key), makePng(20, 10, [1, 2, 3]));
    const registered = await fetch(`${base}/v1/previews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${creds.merchantToken}` },
      body: JSON.stringify({
        shop_id: shop,
        personalization_id: pers,
        job_id: `job-${pers}`,
        status: 'ready',
        path: key,
        content_type: 'image/png',
      }),
    });
    expect(registered.status).toBe(201);
    const body = orderPayload(orderId, [{ id: line, properties: personalized(pers) }], shop);
    const delivered = await fetch(`${base}/webhooks/shopify`, {
      method: 'POST',
      headers: deliveryHeaders(shop, body, creds.webhookSecret),
      body,
    });
    expect(delivered.status).toBe(200);

    const otlp = must(receiver, 'the receiver');
    const { spanProcessor } = must(tracing, 'tracing');
    const spans = await eventually(
      async () => {
        await spanProcessor.forceFlush();
        const names = new Set(otlp.spans.map((span) => span.name));
        return ['RunWorkflow:FulfillOrderLine', ...ACTIVITIES.map((name) => `RunActivity:${name}`)].every((name) => names.has(name))
          ? otlp.spans
          : undefined;
      },
      'the workflow and every activity span exported',
      30_000,
    );
    expect([...otlp.contentTypes]).toEqual([protocol === 'http/json' ? 'application/json' : 'application/x-protobuf']);

    const server = must(
      spans.find((span) => span.kind === SPAN_KIND_SERVER && span.name === 'POST /webhooks/shopify'),
      'the webhook server span',
    );
    expect(server.attributes['http.route']).toBe('/webhooks/shopify');
    const trace = spans.filter((span) => span.traceId === server.traceId);
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId);
    const ancestors = (span: ReceivedSpan): string[] => {
      const names: string[] = [];
      for (let parent = parentOf(span); parent; parent = parentOf(parent)) names.push(parent.name);
      return names;
    };
    const one = (name: string) => {
      const found = trace.filter((span) => span.name === name);
      expect(found, name).toHaveLength(1);
      return must(found[0], name);
    };

    const start = one('StartWorkflow:FulfillOrderLine');
    expect(parentOf(start)).toBe(server);
    const run = one('RunWorkflow:FulfillOrderLine');
    expect(parentOf(run)).toBe(start);
    expect(start.attributes.temporalWorkflowId).toBe(fulfillmentWorkflowId({ shop_id: shop, order_line_id: line }));
    for (const activity of ACTIVITIES) {
      const executions = trace.filter((span) => span.name === `RunActivity:${activity}`);
      expect(executions.length, activity).toBeGreaterThan(0);
      for (const executed of executions) {
        const scheduled = must(parentOf(executed), `${activity}'s parent`);
        expect(scheduled.name, activity).toBe(`StartActivity:${activity}`);
        expect(parentOf(scheduled)).toBe(run);
      }
    }
    // The database calls inside the activities, as children of their activity span.
    const queries = trace.filter((span) => span.attributes['db.system'] === 'postgresql');
    expect(queries.some((query) => ancestors(query).includes('RunActivity:persistPreview'))).toBe(true);
    // And the storage call, with its buckets and no object path.
    const copy = one('storage.copyVerified');
    expect(ancestors(copy)).toContain('RunActivity:persistPreview');
    expect(copy.attributes).toMatchObject({
      'storage.backend': 'local',
      'storage.bucket': 'previews',
      'storage.destination_bucket': 'print-assets',
    });
    expect(JSON.stringify(copy.attributes)).not.toContain(pers);
  });
}
