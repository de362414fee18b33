import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.js';
import type { ReconcileSummary } from '../../src/domain/reconcile.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import type { ReconcileShop } from '../../src/workflows/reconcile-shop.js';
import { createFulfillmentWorker } from '../../src/worker/fulfillment-worker.js';
import { adminOrder } from '../../test/reconcile/reconcile-stack.js';
import { ShopifyAdminStandIn } from '../../test/support/shopify-admin-stand-in.js';
import { openDatabase, startEnvironment } from '../lib/environment.js';
import { DEFAULT_PREVIEW_WAIT_SECONDS } from '../../src/domain/fulfillment-input.js';

const ORDERS = 1000;
const REPS = 3;

/**
 * Reconciliation: a sweep of 1,000 orders (pages of 50, one in five with a personalized line,
 * each with a plain one) from the Admin API stand-in, through a worker in this process, on the
 * bench's Temporal dev server and Postgres. The bucket is never empty: the time is printready's,
 * not Shopify's rate limit. The lines a sweep starts go to a queue no worker polls (their run is
 * the other scenarios' subject). Per repetition: the first sweep of a fresh shop (every
 * personalized line started), then a second one over the same orders (nothing to start).
 * Wall time and this process's CPU (worker and stand-in together) per sweep.
 */
export async function reconcileScenario(log: (line: string) => void) {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await startEnvironment(log);
  try {
    const db = await openDatabase(await env.newDatabase('reconcile'));
    const connection = await Connection.connect({ address: env.temporalAddress });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: env.temporalAddress });
    const shops = Array.from({ length: REPS }, (_, i) => `bench-reconcile-${i}-${randomBytes(3).toString('hex')}.myshopify.com`);
    const tokens = shops.map((shop_id) => ({ shop_id, token: `shpat_${randomBytes(16).toString('hex')}` }));
    const standIn = await ShopifyAdminStandIn.start(Object.fromEntries(tokens.map(({ shop_id, token }) => [shop_id, token])), {
      maximumAvailable: 1_000_000,
    });
    const taskQueue = `bench-reconcile-${randomBytes(3).toString('hex')}`;
    const worker = await createFulfillmentWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      workflowBundlePath: env.bundles.fulfillment,
      activities: createActivities({
        db,
        storage: new LocalStorage({
          root: env.workDir,
          publicBaseUrl: 'http://127.0.0.1:9',
          signingSecret: randomBytes(32).toString('hex'),
        }),
        telemetry: new NoopTelemetry(),
        temporal: { client, taskQueue: `${taskQueue}-lines` },
        printBucket: 'print-assets',
        previewWaitSeconds: DEFAULT_PREVIEW_WAIT_SECONDS,
        reconcile: { tokens, admin: { origin: standIn.origin, apiVersion: '2025-10' } },
      }),
    });
    const running = worker.run();
    const sweep = async (shop_id: string) => {
      const cpu = process.cpuUsage();
      const began = performance.now();
      const summary = await client.workflow.execute<typeof ReconcileShop>('ReconcileShop', {
        workflowId: `reconcile:${shop_id}:bench-${randomBytes(3).toString('hex')}`,
        taskQueue,
        args: [{ shop_id }],
      });
      const used = process.cpuUsage(cpu);
      return { summary, seconds: (performance.now() - began) / 1000, cpuMs: (used.user + used.system) / 1000 };
    };
    const results: { first: Awaited<ReturnType<typeof sweep>>; second: Awaited<ReturnType<typeof sweep>> }[] = [];
    try {
      for (const shop of shops) {
        const start = Date.now() - 3600_000;
        standIn.put(
          shop,
          ...Array.from(
            { length: ORDERS },
            (_, i) =>
              adminOrder({
                personalized: i % 5 === 0 ? [`pers-${i}`] : [],
                plain: 1,
                updatedAt: new Date(start + i * 1000).toISOString(),
              }).order,
          ),
        );
        const first = await sweep(shop);
        const second = await sweep(shop);
        results.push({ first, second });
        log(describe('first sweep', first.summary, first) + '; ' + describe('second', second.summary, second));
      }
    } finally {
      worker.shutdown();
      await running;
      await standIn.close();
      await native.close();
      await connection.close();
      await db.destroy();
    }
    return results;
  } finally {
    await env.close();
  }
}

const describe = (what: string, summary: ReconcileSummary, run: { seconds: number; cpuMs: number }) =>
  `${what}: ${summary.orders_seen} orders, ${summary.lines_started} lines started in ${run.seconds.toFixed(2)} s ` +
  `(${(summary.lines_started / run.seconds).toFixed(0)} lines/s, ${(summary.orders_seen / run.seconds).toFixed(0)} orders/s), ` +
  `${run.cpuMs.toFixed(0)} CPU-ms in the worker process`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const began = performance.now();
  await reconcileScenario((line) => console.log(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`));
}
