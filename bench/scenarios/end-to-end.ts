import type { BenchChild } from '../lib/child.js';
import { newStorageRoot, newTaskQueue, pidOf, startApp, type BenchContext } from '../lib/context.js';
import { metered, perUnit, temporalServers, type Cost } from '../lib/cpu.js';
import { makeDelivery } from '../lib/deliveries.js';
import { shopFor } from '../lib/ids.js';
import { runPairs } from '../lib/pairs.js';
import { freePort } from '../lib/ports.js';
import { startPosthogStandIn } from '../lib/posthog-standin.js';
import type { CostRow, Row, ScenarioResult } from '../lib/report.js';
import { percentile } from '../lib/stats.js';
import { describeSettings, productDefaults, type WorkerSettings } from '../lib/worker-settings.js';
import type { StartWorkflowsResult } from '../processes/app.js';
import { startTemporal, type DatabaseSpec } from '../lib/environment.js';
import { NOOP_WORKFLOW } from '../workflows/noop-steps.js';
import { must } from '../../test/support/must.js';

/**
 * Scenario 2, end to end: lines from signed webhook to workflow completion (small PNG
 * previews, real activities: Postgres, streaming SHA-256 + sniffing, copy into the print
 * bucket, telemetry to a PostHog stand-in answering after 50–150 ms), against a no-op
 * workflow with as many sequential activities as FulfillOrderLine has today (6) on a worker
 * with the same settings, its starts made from the API process. Both clocks stop when the
 * server counts every workflow of the run's task queue completed.
 *
 * Processes: the API in one, the worker in another (as in production), on Postgres. Each run
 * gets fresh workers on a fresh task queue.
 */
const LINES_PER_DELIVERY = 5;
/** Deliveries in flight at once (Shopify sends an order's webhook once; many orders arrive together). */
const DELIVERY_CONCURRENCY = 20;

interface Rig {
  temporalAddress: string;
  api: BenchChild;
  port: number;
  database: DatabaseSpec;
  storageRoot: string;
  posthog: string;
}

async function startRig(ctx: BenchContext, posthog: string, temporalAddress = ctx.env.temporalAddress): Promise<Rig> {
  const database = await ctx.env.newDatabase('e2e');
  if (database.kind !== 'postgres') throw new Error('end to end needs Postgres (API and worker are separate processes)');
  const storageRoot = await newStorageRoot(ctx, 'e2e');
  const port = await freePort();
  const api = await startApp('e2e-api', {
    temporalAddress,
    taskQueue: newTaskQueue('e2e'),
    database,
    storageRoot,
    api: { port },
  });
  return { temporalAddress, api, port, database, storageRoot, posthog };
}

async function startWorker(
  ctx: BenchContext,
  rig: Rig,
  kind: 'fulfillment' | 'noop',
  settings: WorkerSettings,
  taskQueue: string,
): Promise<BenchChild> {
  return startApp(`e2e-${kind}-worker`, {
    temporalAddress: rig.temporalAddress,
    taskQueue,
    database: rig.database,
    storageRoot: rig.storageRoot,
    posthogHost: rig.posthog,
    worker: { kind, bundlePath: kind === 'fulfillment' ? ctx.env.bundles.fulfillment : ctx.env.bundles.noop, settings },
  });
}

export interface RunResult {
  lines: number;
  linesPerS: number;
  cost: Cost;
  /** Webhook sent → line persisted, ms (printready only). */
  latenciesMs: number[];
  history: { events: number; workflowTasks: number; activities: number };
}

let runCounter = 0;
const nextTag = () => `${Date.now().toString(36)}${++runCounter}`;

/**
 * Waits until the server counts `lines` completed workflows on `taskQueue`; `alongside` (the
 * sender) must not fail meanwhile. With `persisted` (the lines' rows), the server is asked only
 * once they are all persisted.
 */
async function untilCompleted(
  rig: Rig,
  taskQueue: string,
  lines: number,
  alongside: Promise<unknown>,
  check?: () => Promise<void>,
  persisted?: () => Promise<number>,
): Promise<void> {
  let failure: Error | undefined;
  alongside.catch((error: unknown) => {
    failure = error instanceof Error ? error : new Error(String(error));
  });
  const deadline = Date.now() + Math.max(300_000, lines * 500);
  // Each poll is a count over the queue's workflows, work for the server that grows with the
  // backlog: polled every 100 ms, a 10,000-line drain would add to the Temporal CPU it measures.
  const pollMs = Math.min(1_000, Math.max(100, lines));
  for (;;) {
    if (failure) throw failure;
    await check?.();
    // Where the lines' rows can say it, Postgres is asked until all are persisted, and the server only then.
    const ready = persisted ? (await persisted()) >= lines : true;
    if (ready && (await rig.api.call<number>('countWorkflows', { taskQueue, status: 'Completed' })) >= lines) break;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lines} workflows on ${taskQueue}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  await alongside;
}

/** Signed deliveries of `lines` lines with seeded previews; the personalization ids they carry. */
async function prepareDeliveries(rig: Rig, lines: number, shop: string) {
  const prefix = `p${nextTag()}`;
  await rig.api.call('seedPreviews', { shop, prefix, count: lines });
  return Array.from({ length: Math.ceil(lines / LINES_PER_DELIVERY) }, (_, index) => {
    const ids = Array.from(
      { length: Math.min(LINES_PER_DELIVERY, lines - index * LINES_PER_DELIVERY) },
      (_, line) => `${prefix}-${index * LINES_PER_DELIVERY + line}`,
    );
    return { ids, delivery: makeDelivery(shop, ids.length, ids) };
  });
}

/** Sends deliveries, 20 in flight; records when each personalization id was sent. */
function sendAll(rig: Rig, deliveries: Awaited<ReturnType<typeof prepareDeliveries>>, sentAt: Map<string, number>): Promise<void> {
  let next = 0;
  return Promise.all(
    Array.from({ length: DELIVERY_CONCURRENCY }, async () => {
      while (next < deliveries.length) {
        const { ids, delivery } = must(deliveries[next++], 'a delivery');
        const now = Date.now();
        for (const id of ids) sentAt.set(id, now);
        // A 503 (Temporal slower than the API's budget, on a loaded machine) is sent again after
        // a second, as Shopify would; latency still counts from the first send.
        for (let attempt = 1; ; attempt++) {
          const response = await fetch(`http://127.0.0.1:${rig.port}/webhooks/shopify`, {
            method: 'POST',
            headers: delivery.headers,
            body: delivery.body,
          });
          const text = await response.text();
          if (response.status === 200) break;
          if (response.status !== 503 || attempt >= 10) throw new Error(`webhook answered ${response.status}: ${text}`);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    }),
  ).then(() => undefined);
}

async function latencies(rig: Rig, shop: string, sentAt: Map<string, number>): Promise<number[]> {
  const persisted = await rig.api.call<[string, number][]>('persistedAt', { shop });
  return persisted.flatMap(([id, at]) => (sentAt.has(id) ? [at - must(sentAt.get(id), 'the send time')] : []));
}

/** `lines` lines as signed webhooks until all their workflows have completed, on fresh workers and a fresh task queue. */
async function runPrintready(ctx: BenchContext, rig: Rig, settings: WorkerSettings, lines: number): Promise<RunResult> {
  const taskQueue = newTaskQueue('e2e');
  await rig.api.call('setTaskQueue', { taskQueue });
  const worker = await startWorker(ctx, rig, 'fulfillment', settings, taskQueue);
  try {
    const shop = shopFor(`e2e-${nextTag()}`);
    const deliveries = await prepareDeliveries(rig, lines, shop);
    const sentAt = new Map<string, number>();
    const begin = performance.now();
    const { cost } = await metered({ api: pidOf(rig.api), worker: pidOf(worker) }, () =>
      untilCompleted(rig, taskQueue, lines, sendAll(rig, deliveries, sentAt), async () => {
        const failed = await rig.api.call<number>('countLines', { shop, status: 'failed' });
        if (failed > 0) throw new Error(`${failed} lines failed`);
      }),
    );
    const elapsedS = (performance.now() - begin) / 1000;
    return {
      lines,
      linesPerS: lines / elapsedS,
      cost,
      latenciesMs: await latencies(rig, shop, sentAt),
      history: await rig.api.call('history', { taskQueue }),
    };
  } finally {
    await worker.stop();
  }
}

/** The same number of no-op workflows, started from the API process, until all have completed. */
async function runBaseline(ctx: BenchContext, rig: Rig, settings: WorkerSettings, lines: number): Promise<RunResult> {
  const taskQueue = newTaskQueue('noop');
  const worker = await startWorker(ctx, rig, 'noop', settings, taskQueue);
  try {
    const begin = performance.now();
    const { cost } = await metered({ api: pidOf(rig.api), worker: pidOf(worker) }, () => {
      const starting = rig.api.call<StartWorkflowsResult>('startWorkflows', {
        shop: shopFor(`noop-${nextTag()}`),
        units: Math.ceil(lines / LINES_PER_DELIVERY),
        perUnit: LINES_PER_DELIVERY,
        concurrency: DELIVERY_CONCURRENCY,
        workflow: NOOP_WORKFLOW,
        taskQueue,
      });
      return untilCompleted(rig, taskQueue, lines, starting);
    });
    const elapsedS = (performance.now() - begin) / 1000;
    return { lines, linesPerS: lines / elapsedS, cost, latenciesMs: [], history: await rig.api.call('history', { taskQueue }) };
  } finally {
    await worker.stop();
  }
}

/** Lines per end-to-end run: a fixed 1,000 (`--e2e-lines` to change), 60 when quick. */
const linesPerRun = (ctx: BenchContext): number => ctx.e2eLines ?? (ctx.quick ? 60 : 1000);

export async function e2eScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const settings = productDefaults();
  const posthog = await startPosthogStandIn();
  const rig = await startRig(ctx, posthog.url);
  try {
    const lines = linesPerRun(ctx);
    ctx.log(`  worker settings: ${describeSettings(settings)} (the product's defaults); ${lines} lines per run`);
    // Warm-up (the server's caches, the database), not measured; the quick run has none.
    if (!ctx.quick) {
      await runPrintready(ctx, rig, settings, 20);
      await runBaseline(ctx, rig, settings, 20);
    }
    const temporalMs = (run: RunResult) => must(perUnit(run.cost, run.lines).temporal, 'Temporal CPU');
    const pairs = await runPairs(
      ctx.pairs,
      () => runBaseline(ctx, rig, settings, lines),
      () => runPrintready(ctx, rig, settings, lines),
      (pair, { baseline, printready }) =>
        ctx.log(
          `  pair ${pair + 1}: printready ${printready.linesPerS.toFixed(1)} lines/s, temporal ${temporalMs(printready)} ms/line, p50/p99 ${percentile(printready.latenciesMs, 50)}/${percentile(printready.latenciesMs, 99)} ms, ` +
            `history ${printready.history.events} events ${printready.history.workflowTasks} tasks; no-op ${baseline.linesPerS.toFixed(1)} lines/s, temporal ${temporalMs(baseline)} ms/line`,
        ),
    );
    const scenario = `end to end, ${lines} lines (${LINES_PER_DELIVERY}/delivery, ${DELIVERY_CONCURRENCY} in flight)`;
    const rows: Row[] = [
      {
        scenario,
        metric: 'lines/s',
        printready: pairs.printready.map((run) => run.linesPerS),
        baseline: pairs.baseline.map((run) => run.linesPerS),
        target: { kind: 'ratio_at_least', value: 1.5 },
        note: `baseline: a no-op workflow of 6 sequential no-op activities; worker: ${describeSettings(settings)}`,
      },
      {
        scenario,
        metric: 'Temporal CPU ms/line',
        printready: pairs.printready.map(temporalMs),
        baseline: pairs.baseline.map(temporalMs),
        target: { kind: 'ratio_at_most', value: 0.5 },
      },
      {
        scenario,
        metric: 'latency p50 ms (webhook → persisted)',
        printready: pairs.printready.map((run) => percentile(run.latenciesMs, 50)),
        baseline: null,
        target: null,
      },
      {
        scenario,
        metric: 'latency p99 ms (webhook → persisted)',
        printready: pairs.printready.map((run) => percentile(run.latenciesMs, 99)),
        baseline: null,
        target: null,
      },
      {
        scenario: 'persisted line, history read from the server',
        metric: 'events',
        printready: pairs.printready.map((run) => run.history.events),
        baseline: pairs.baseline.map((run) => run.history.events),
        target: { kind: 'at_most', value: 20 },
      },
      {
        scenario: 'persisted line, history read from the server',
        metric: 'workflow tasks',
        printready: pairs.printready.map((run) => run.history.workflowTasks),
        baseline: pairs.baseline.map((run) => run.history.workflowTasks),
        target: { kind: 'at_most', value: 3 },
        details: { activities: pairs.printready.map((run) => run.history.activities) },
      },
    ];
    const costs: CostRow[] = (['printready', 'baseline'] as const).map((side) => ({
      scenario: `end to end, ${lines} lines`,
      side,
      unit: 'line',
      runs: pairs[side].map((run) => ({ units: run.lines, cost: run.cost })),
    }));
    return { rows, costs };
  } finally {
    await rig.api.stop();
    await posthog.close();
  }
}

/**
 * Backlog drain: `lines` lines taken in by the API while no worker runs, then one worker
 * started and timed until every workflow has completed; once for 1,000 lines and once for
 * the full backlog (10,000 unless `--drain-lines`), so Temporal's CPU per line can be
 * compared between the two (it must not grow by more than 20 %). Each drain has a dev server
 * of its own: the server's cost per line grows with the executions its store holds (four
 * drains of 1,000 on one server, one after another, cost 15, 18, 16 and 19 ms per line), and
 * what is judged here is the backlog, not what the scenarios before it left in the store.
 */
export async function drainScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const settings = productDefaults();
  const posthog = await startPosthogStandIn();
  const sizes = ctx.quick ? [40, 80] : [1000, ctx.drainLines ?? 10_000];
  interface PoolWait {
    acquisitions: number;
    totalMs: number;
    maxMs: number;
  }
  const runs: { lines: number; elapsedS: number; cost: Cost; poolWait: PoolWait }[] = [];
  try {
    for (const lines of sizes) {
      const serversBefore = new Set(await temporalServers());
      const temporal = await startTemporal();
      const [temporalPid] = (await temporalServers()).filter((pid) => !serversBefore.has(pid));
      const rig = await startRig(ctx, posthog.url, temporal.address);
      try {
        const taskQueue = newTaskQueue('drain');
        await rig.api.call('setTaskQueue', { taskQueue });
        const shop = shopFor(`drain-${nextTag()}`);
        await sendAll(rig, await prepareDeliveries(rig, lines, shop), new Map());
        const worker = await startWorker(ctx, rig, 'fulfillment', settings, taskQueue);
        try {
          await worker.call('poolWait', { reset: true });
          const begin = performance.now();
          const { cost } = await metered(
            { api: pidOf(rig.api), worker: pidOf(worker), temporal: must(temporalPid, 'the dev server') },
            () =>
              untilCompleted(rig, taskQueue, lines, Promise.resolve(), undefined, () =>
                rig.api.call<number>('countLines', { shop, status: 'persisted' }),
              ),
          );
          const elapsedS = (performance.now() - begin) / 1000;
          const poolWait = await worker.call<PoolWait>('poolWait', {});
          runs.push({ lines, elapsedS, cost, poolWait });
          ctx.log(
            `  drain of ${lines}: ${elapsedS.toFixed(1)} s (${(lines / elapsedS).toFixed(1)} lines/s), cpu ms/line ${JSON.stringify(perUnit(cost, lines))}, ` +
              `pool wait ${(poolWait.totalMs / Math.max(1, poolWait.acquisitions)).toFixed(2)} ms mean, ${poolWait.maxMs.toFixed(0)} ms max`,
          );
        } finally {
          await worker.stop();
        }
      } finally {
        await rig.api.stop();
        await temporal.teardown();
      }
    }
  } finally {
    await posthog.close();
  }
  const [small, large] = runs as [(typeof runs)[number], (typeof runs)[number]];
  const temporalMs = (run: (typeof runs)[number]) => must(perUnit(run.cost, run.lines).temporal, 'Temporal CPU');
  const rows: Row[] = [
    {
      scenario: `backlog drain, ${large.lines} lines (against ${small.lines})`,
      metric: 'Temporal CPU ms/line',
      printready: [temporalMs(large)],
      baseline: [temporalMs(small)],
      target: { kind: 'ratio_at_most', value: 1.2 },
      note: `baseline: the same drain of ${small.lines} lines`,
    },
    { scenario: `backlog drain, ${large.lines} lines`, metric: 'seconds', printready: [large.elapsedS], baseline: null, target: null },
    {
      scenario: `backlog drain, ${large.lines} lines`,
      metric: 'lines/s',
      printready: [large.lines / large.elapsedS],
      baseline: [small.lines / small.elapsedS],
      target: null,
    },
    {
      scenario: `backlog drain, ${large.lines} lines`,
      metric: 'worker peak RSS MiB',
      printready: [large.cost.peakRssMiB.worker ?? 0],
      baseline: null,
      target: null,
    },
    {
      scenario: `backlog drain, ${large.lines} lines`,
      metric: "Postgres backends' peak RSS MiB",
      printready: [large.cost.peakRssMiB.postgres ?? 0],
      baseline: null,
      target: null,
    },
    {
      scenario: `backlog drain, ${large.lines} lines`,
      metric: 'pool wait ms per query (mean)',
      printready: [large.poolWait.totalMs / Math.max(1, large.poolWait.acquisitions)],
      baseline: null,
      target: null,
      details: { pool_wait: runs.map((run) => ({ lines: run.lines, ...run.poolWait })) },
    },
    {
      scenario: `backlog drain, ${large.lines} lines`,
      metric: 'pool wait ms (longest)',
      printready: [large.poolWait.maxMs],
      baseline: null,
      target: null,
    },
  ];
  return {
    rows,
    costs: runs.map((run) => ({
      scenario: `backlog drain, ${run.lines} lines`,
      side: 'printready' as const,
      unit: 'line',
      runs: [{ units: run.lines, cost: run.cost }],
    })),
  };
}
