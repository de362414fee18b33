import type { BenchChild } from '../lib/child.js';
import { newStorageRoot, newTaskQueue, startApp, type BenchContext } from '../lib/context.js';
import { cpuDelta, sampleCpu, type CpuUse } from '../lib/cpu.js';
import { makeDelivery } from '../lib/deliveries.js';
import { shopFor } from '../lib/ids.js';
import { freePort } from '../lib/ports.js';
import type { Row } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { describeSettings, productDefaults, type WorkerSettings } from '../lib/worker-settings.js';
import type { StartWorkflowsResult } from '../processes/app.js';
import { NOOP_WORKFLOW } from '../workflows/noop-steps.js';

/**
 * Scenario 2, end to end: 1,000 lines from signed webhook to `persisted` (small PNG previews,
 * real activities: Postgres, streaming SHA-256 + sniffing, copy into the print bucket),
 * against a no-op workflow with as many activity calls on a worker with the same settings.
 *
 * Processes: the API in one, the worker in another (as in production), both on Postgres;
 * with PGlite (one process per database) the API and the worker share one. The baseline has
 * the same layout: its starts come from the (idle) API process, its no-op worker is a process
 * of its own.
 */
const LINES_PER_DELIVERY = 5;
/** Deliveries in flight at once (Shopify sends an order's webhook once; many orders arrive together). */
const DELIVERY_CONCURRENCY = 20;

interface E2eRig {
  api: BenchChild;
  port: number;
  layout: 'split' | 'combined';
  close(): Promise<void>;
  /** Starts the fulfillment and no-op workers with `settings`, on fresh task queues. */
  workers(settings: WorkerSettings): Promise<{ fulfillment: BenchChild; noop: BenchChild; noopQueue: string; close(): Promise<void> }>;
}

async function startRig(ctx: BenchContext, settings: WorkerSettings): Promise<E2eRig> {
  const database = await ctx.env.newDatabase('e2e');
  const storageRoot = await newStorageRoot(ctx, 'e2e');
  const port = await freePort();
  const layout = database.kind === 'postgres' ? 'split' : 'combined';
  const taskQueue = newTaskQueue('e2e');
  const api = await startApp('e2e-api', {
    temporalAddress: ctx.env.temporalAddress,
    taskQueue,
    database,
    storageRoot,
    api: { port },
    ...(layout === 'combined' ? { worker: { kind: 'fulfillment' as const, bundlePath: ctx.env.bundles.fulfillment, settings } } : {}),
  });
  return {
    api,
    port,
    layout,
    close: () => api.stop(),
    async workers(workerSettings) {
      const queue = newTaskQueue('e2e');
      await api.call('setTaskQueue', { taskQueue: queue });
      const fulfillment =
        layout === 'split'
          ? await startApp('e2e-worker', {
              temporalAddress: ctx.env.temporalAddress,
              taskQueue: queue,
              database,
              storageRoot,
              worker: { kind: 'fulfillment', bundlePath: ctx.env.bundles.fulfillment, settings: workerSettings },
            })
          : api;
      const noopQueue = newTaskQueue('noop');
      const noop = await startApp('e2e-noop-worker', {
        temporalAddress: ctx.env.temporalAddress,
        taskQueue: noopQueue,
        database: await ctx.env.newDatabase('noop'),
        storageRoot,
        worker: { kind: 'noop', bundlePath: ctx.env.bundles.noop, settings: workerSettings },
      });
      return {
        fulfillment,
        noop,
        noopQueue,
        async close() {
          await noop.stop();
          if (fulfillment !== api) await fulfillment.stop();
        },
      };
    },
  };
}

interface RunResult {
  linesPerS: number;
  elapsedS: number;
  cpu: CpuUse;
}

/** `lines` lines as signed webhooks (5 lines each, 20 in flight) until all are `persisted`. */
async function runPrintready(rig: E2eRig, worker: BenchChild, lines: number, tag: string): Promise<RunResult> {
  const shop = shopFor(`e2e-${tag}`);
  const prefix = `p${tag}`;
  await rig.api.call('seedPreviews', { shop, prefix, count: lines });
  const deliveries = Array.from({ length: Math.ceil(lines / LINES_PER_DELIVERY) }, (_, index) => {
    const ids = Array.from({ length: LINES_PER_DELIVERY }, (_, line) => `${prefix}-${index * LINES_PER_DELIVERY + line}`).filter(
      (_, line) => index * LINES_PER_DELIVERY + line < lines,
    );
    return makeDelivery(shop, ids.length, ids);
  });
  const pids = { api: pidOf(rig.api), worker: pidOf(worker) };
  const before = await sampleCpu(pids);
  const begin = performance.now();
  let next = 0;
  const sending = Promise.all(
    Array.from({ length: DELIVERY_CONCURRENCY }, async () => {
      while (next < deliveries.length) {
        const delivery = deliveries[next++]!;
        const response = await fetch(`http://127.0.0.1:${rig.port}/webhooks/shopify`, {
          method: 'POST',
          headers: delivery.headers,
          body: delivery.body,
        });
        if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
  await waitFor(async () => {
    const failed = await rig.api.call<number>('countLines', { shop, status: 'failed' });
    if (failed > 0) throw new Error(`${failed} lines failed`);
    return (await rig.api.call<number>('countLines', { shop, status: 'persisted' })) >= lines;
  }, sending);
  const elapsedS = (performance.now() - begin) / 1000;
  return { linesPerS: lines / elapsedS, elapsedS, cpu: cpuDelta(before, await sampleCpu(pids)) };
}

/** The same number of no-op workflows, started from the API process, until the no-op worker has run all their steps. */
async function runBaseline(rig: E2eRig, noop: BenchChild, noopQueue: string, lines: number, tag: string): Promise<RunResult> {
  const already = await noop.call<number>('noopCompleted');
  const pids = { api: pidOf(rig.api), worker: pidOf(noop) };
  const before = await sampleCpu(pids);
  const begin = performance.now();
  const starting = rig.api.call<StartWorkflowsResult>('startWorkflows', {
    shop: shopFor(`noop-${tag}`),
    units: Math.ceil(lines / LINES_PER_DELIVERY),
    perUnit: LINES_PER_DELIVERY,
    concurrency: DELIVERY_CONCURRENCY,
    mode: 'plain',
    workflow: NOOP_WORKFLOW,
    taskQueue: noopQueue,
  });
  await waitFor(async () => (await noop.call<number>('noopCompleted')) - already >= lines, starting);
  const elapsedS = (performance.now() - begin) / 1000;
  return { linesPerS: lines / elapsedS, elapsedS, cpu: cpuDelta(before, await sampleCpu(pids)) };
}

/** Polls `done` every 50 ms; `alongside` (the sender) must not fail meanwhile. */
async function waitFor(done: () => Promise<boolean>, alongside: Promise<unknown>, timeoutMs = 300_000): Promise<void> {
  let failure: unknown;
  alongside.catch((error: unknown) => {
    failure = error;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failure) throw failure;
    if (await done()) break;
    if (Date.now() > deadline) throw new Error('timed out waiting for the lines');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await alongside;
}

const pidOf = (child: BenchChild): number => (child.info as { pid: number }).pid;

let runCounter = 0;
const nextTag = () => `${Date.now().toString(36)}${++runCounter}`;

/**
 * Lines per run: the 1,000, unless this machine is so slow (or so busy) that a run
 * would take more than E2E_RUN_SECONDS; then fewer (at least 200), so that the whole bench
 * stays within its 10 minutes. The row says how many. `--e2e-lines` forces a number.
 */
const E2E_LINES = 1000;
const E2E_MIN_LINES = 200;
const E2E_RUN_SECONDS = 30;

function linesPerRun(ctx: BenchContext, warmLinesPerS: number): number {
  if (ctx.e2eLines) return ctx.e2eLines;
  if (ctx.quick) return 100;
  const fitting = Math.round((warmLinesPerS * E2E_RUN_SECONDS) / 100) * 100;
  return Math.max(E2E_MIN_LINES, Math.min(E2E_LINES, fitting));
}

export async function e2eScenario(ctx: BenchContext): Promise<Row[]> {
  const settings = productDefaults();
  const rig = await startRig(ctx, settings);
  try {
    const workers = await rig.workers(settings);
    try {
      ctx.log(`  layout ${rig.layout}; worker settings: ${describeSettings(settings)} (the product's defaults)`);
      const warm = await runPrintready(rig, workers.fulfillment, ctx.quick ? 20 : 100, nextTag());
      await runBaseline(rig, workers.noop, workers.noopQueue, ctx.quick ? 20 : 100, nextTag());
      const lines = linesPerRun(ctx, warm.linesPerS);
      ctx.log(`  warm-up: ${warm.linesPerS.toFixed(1)} lines/s; ${lines} lines per run`);
      const printready: RunResult[] = [];
      const baseline: RunResult[] = [];
      for (let rep = 0; rep < ctx.reps; rep++) {
        baseline.push(await runBaseline(rig, workers.noop, workers.noopQueue, lines, nextTag()));
        printready.push(await runPrintready(rig, workers.fulfillment, lines, nextTag()));
        ctx.log(
          `  rep ${rep + 1}: printready ${printready.at(-1)!.linesPerS.toFixed(1)} lines/s, cpu s ${JSON.stringify(printready.at(-1)!.cpu)}; ` +
            `no-op ${baseline.at(-1)!.linesPerS.toFixed(1)} lines/s, cpu s ${JSON.stringify(baseline.at(-1)!.cpu)}`,
        );
      }
      return [
        {
          scenario: `end to end, ${lines} lines (${LINES_PER_DELIVERY}/delivery, ${DELIVERY_CONCURRENCY} in flight)`,
          metric: 'lines/s',
          printready: printready.map((run) => run.linesPerS),
          baseline: baseline.map((run) => run.linesPerS),
          target: { kind: 'ratio_at_least', value: 0.7 },
          note: `worker: ${describeSettings(settings)}; layout ${rig.layout}`,
          details: {
            lines,
            cpu_s_printready: printready.map((run) => run.cpu),
            cpu_s_baseline: baseline.map((run) => run.cpu),
          },
        },
      ];
    } finally {
      await workers.close();
    }
  } finally {
    await rig.close();
  }
}

/** The candidates `npm run bench -- --tune` compares (each against its own no-op baseline). */
const CANDIDATES: WorkerSettings[] = [
  { maxConcurrentActivityTaskExecutions: 100, maxConcurrentWorkflowTaskExecutions: 100 },
  { maxConcurrentActivityTaskExecutions: 20, maxConcurrentWorkflowTaskExecutions: 20 },
  { maxConcurrentActivityTaskExecutions: 50, maxConcurrentWorkflowTaskExecutions: 50 },
  { maxConcurrentActivityTaskExecutions: 200, maxConcurrentWorkflowTaskExecutions: 200 },
  { maxConcurrentActivityTaskExecutions: 100, maxConcurrentWorkflowTaskExecutions: 100, poolSize: 20 },
  { maxConcurrentActivityTaskExecutions: 100, maxConcurrentWorkflowTaskExecutions: 100, maxConcurrentWorkflowTaskPolls: 20, maxConcurrentActivityTaskPolls: 20 },
];

/** `--tune`: the end-to-end scenario for each candidate worker setting. */
export async function tuneWorker(ctx: BenchContext): Promise<unknown> {
  const rig = await startRig(ctx, productDefaults());
  let lines = 0;
  const report: unknown[] = [];
  try {
    for (const settings of CANDIDATES) {
      const workers = await rig.workers(settings);
      try {
        const warm = await runPrintready(rig, workers.fulfillment, 100, nextTag());
        await runBaseline(rig, workers.noop, workers.noopQueue, 100, nextTag());
        // One size for every candidate: the first one's.
        lines ||= linesPerRun(ctx, warm.linesPerS);
        const printready: number[] = [];
        const baseline: number[] = [];
        for (let rep = 0; rep < ctx.reps; rep++) {
          baseline.push((await runBaseline(rig, workers.noop, workers.noopQueue, lines, nextTag())).linesPerS);
          printready.push((await runPrintready(rig, workers.fulfillment, lines, nextTag())).linesPerS);
        }
        const entry = {
          settings,
          lines,
          printready_lines_per_s: printready.map(Math.round),
          noop_lines_per_s: baseline.map(Math.round),
          printready_median: Math.round(median(printready)),
          noop_median: Math.round(median(baseline)),
          ratio: Math.round((median(printready) / median(baseline)) * 100) / 100,
        };
        report.push(entry);
        ctx.log(`  ${describeSettings(settings)}: printready ${entry.printready_median} lines/s, no-op ${entry.noop_median}, ratio ${entry.ratio}`);
      } finally {
        await workers.close();
      }
    }
  } finally {
    await rig.close();
  }
  return report;
}
