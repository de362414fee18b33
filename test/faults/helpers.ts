/** What the fault tests read off a running stack (print-bucket files, results, percentiles) and their credentials; test data is in `../support/fixtures.ts`. */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import type { LineStatusView } from '../../src/domain/line-status.js';
import type { FulfillOrderLine } from '../../src/workflows/fulfill-order-line.js';
import { PRINT_BUCKET } from '../support/fixtures.js';

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
