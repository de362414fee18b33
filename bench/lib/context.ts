import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppProcessOptions } from '../processes/app.js';
import { BenchChild } from './child.js';
import type { BenchEnvironment, DatabaseSpec } from './environment.js';
import { freePort } from './ports.js';
import { must } from '../../test/support/must.js';

export const APP_PROCESS = fileURLToPath(new URL('../processes/app.ts', import.meta.url));

/** What every scenario gets from the runner. */
export interface BenchContext {
  env: BenchEnvironment;
  /** Pairs per comparison (baseline and printready back to back, order alternating). */
  pairs: number;
  /** Fixed small loads, one pair: a cost smoke test, not ratios to report. */
  quick: boolean;
  /** Lines of the backlog drain (default 10,000). */
  drainLines?: number;
  /** Lines per end-to-end run (default 1000, the number; fewer for exploring). */
  e2eLines?: number;
  log(line: string): void;
}

/** Credentials of this bench run, shared by the load generator and the processes it drives. */
export const secrets = {
  webhook: `whsec_bench_${randomBytes(12).toString('hex')}`,
  apiToken: `bench_${randomBytes(16).toString('hex')}`,
  signing: randomBytes(32).toString('hex'),
};

/** printready's production log level, written where it costs least (the child's stdout is discarded). */
export const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

/** The buckets of the bench's local storage. */
export const PREVIEW_BUCKET = 'previews';
export const PRINT_BUCKET = 'print-assets';

export const newTaskQueue = (name: string): string => `bench-${name}-${randomBytes(4).toString('hex')}`;

export async function newStorageRoot(ctx: BenchContext, name: string): Promise<string> {
  return mkdtemp(path.join(ctx.env.workDir, `storage-${name}-`));
}

/** The pid a bench child announced. */
export const pidOf = (child: BenchChild): number => must(child.process.pid, 'the child pid');

/** Starts an app process (API and/or worker) on the run's credentials. */
export async function startApp(
  name: string,
  options: Omit<AppProcessOptions, 'webhookSecret' | 'apiToken' | 'signingSecret' | 'logLevel' | 'temporalAddress'> & {
    temporalAddress: string;
  },
): Promise<BenchChild> {
  const full: AppProcessOptions = {
    ...options,
    webhookSecret: secrets.webhook,
    apiToken: secrets.apiToken,
    signingSecret: secrets.signing,
    logLevel: LOG_LEVEL,
  };
  return BenchChild.start(APP_PROCESS, full, { name });
}

export async function apiPorts(): Promise<{ port: number; barePort: number }> {
  return { port: await freePort(), barePort: await freePort() };
}

export type { DatabaseSpec };
