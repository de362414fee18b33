/** What the fault tests read off a running stack (print-bucket files, results, percentiles) and their credentials; test data is in `../support/fixtures.ts`. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { LineStatusView } from '../../src/domain/line-status.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { FulfillOrderLine } from '../../src/workflows/fulfill-order-line.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../support/database.js';
import { PREVIEW_BUCKET, PRINT_BUCKET } from '../support/fixtures.js';
import { must } from '../support/must.js';
import { PostHogStandIn } from '../support/posthog-stand-in.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import type { Teardown } from '../support/teardown.js';
import type { WorkerProcessEnv } from '../support/worker-process.js';

/** Every file under `dir`, as paths relative to it (none when it does not exist). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Where the local backend keeps a line's objects in the print bucket. */
export const lineFolder = (storageRoot: string, line: FulfillmentInput): string =>
  path.join(storageRoot, PRINT_BUCKET, line.shop_id, line.order_line_id);

/** Waits for each line's workflow result (they end once persisted). */
export async function resultsOf(client: Client, lines: FulfillmentInput[]): Promise<LineStatusView[]> {
  return Promise.all(lines.map((line) => client.workflow.getHandle<typeof FulfillOrderLine>(fulfillmentWorkflowId(line)).result()));
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Credentials of a test file: fresh random values, so a leak is unmistakable in the secrets scan. */
export function faultCredentials() {
  return {
    operatorToken: `op_${randomBytes(18).toString('hex')}`,
    webhookSecret: `whsec_${randomBytes(16).toString('hex')}`,
    signingSecret: randomBytes(32).toString('hex'),
    posthogKey: `phc_${randomBytes(12).toString('hex')}`,
  };
}
export type FaultCredentials = ReturnType<typeof faultCredentials>;

export function faultConfig(credentials: FaultCredentials, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    SHOPIFY_WEBHOOK_SECRETS: credentials.webhookSecret,
    API_TOKENS: `${credentials.operatorToken}=*`,
    LOCAL_SIGNING_SECRET: credentials.signingSecret,
    POSTHOG_API_KEY: credentials.posthogKey,
    LOG_LEVEL: 'info',
    ...overrides,
  });
}

/**
 * What a test that kills and restarts worker processes stands on: a database reached through a
 * proxy that can hold statements, a PostHog stand-in, a client of the run's dev server, local
 * buckets in a data folder of its own, and the worker processes' environment on a fresh task queue.
 */
export async function workerProcessStack(teardown: Teardown, name: string) {
  const database = await createTestDatabase();
  teardown.defer(() => database.close());
  const proxy = await TcpProxy.toPostgres(TEST_DATABASE_URL);
  teardown.defer(() => proxy.close());
  const posthog = await PostHogStandIn.start();
  teardown.defer(() => posthog.close());
  const client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  teardown.defer(() => client.connection.close());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `printready-${name}-`));
  teardown.defer(() => rm(dataDir, { recursive: true, force: true }));
  const storageRoot = path.join(dataDir, 'storage');
  const signingSecret = randomBytes(32).toString('hex');
  const storage = new LocalStorage({ root: storageRoot, publicBaseUrl: 'http://127.0.0.1:9', signingSecret });
  await storage.ensureBucket(PREVIEW_BUCKET);
  await storage.ensureBucket(PRINT_BUCKET);
  const env: WorkerProcessEnv = {
    DATABASE_URL: proxy.url(must(database.url, 'a Postgres database (DATABASE_URL)')),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `${name}-${randomBytes(6).toString('hex')}`,
    DATA_DIR: dataDir,
    LOCAL_SIGNING_SECRET: signingSecret,
    POSTHOG_API_KEY: `phc_${randomBytes(12).toString('hex')}`,
    POSTHOG_HOST: posthog.host,
  };
  return { database, proxy, posthog, client, dataDir, storageRoot, env };
}
