import type { Agent } from 'node:http';
import { apiPorts, newStorageRoot, newTaskQueue, pidOf, startApp, type BenchContext } from '../lib/context.js';
import { metered, perUnit, type Cost } from '../lib/cpu.js';
import { makeDelivery, type Delivery } from '../lib/deliveries.js';
import { closedLoop, httpCall, openLoop, type LoopResult } from '../lib/http-load.js';
import { lineInput, nextId, shopFor } from '../lib/ids.js';
import { runPairs } from '../lib/pairs.js';
import type { CostRow, Row, ScenarioResult } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { must } from '../../test/support/must.js';

const CONNECTIONS = 50;
/** Seconds of load per closed-loop run, about (sized from the warm-up). */
const RUN_SECONDS = 4;

/**
 * Scenario 1, intake: signed 1-line `orders/create` deliveries through the real Fastify app
 * against a bare route of the same app configuration (`processes/app.ts`, `POST /bare/start`)
 * that makes the intake's exact start, search attributes included, for a line sent as JSON:
 * the difference is what the intake adds (HMAC, the order's parse, the line's registration,
 * logging). Both sides are driven by the same node:http load generator, each run on a fresh
 * task queue. No worker runs: the workflows stay pending (a worker would blur what intake costs).
 *
 * Judged: the API's CPU per line (closed loop at 50 connections, paired), and the p99 of
 * deliveries arriving evenly (open loop) at half the bare start's measured capacity.
 */
export async function intakeScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { port, barePort } = await apiPorts();
  const app = await startApp('intake-api', {
    temporalAddress: ctx.env.temporalAddress,
    taskQueue: newTaskQueue('intake'),
    database: await ctx.env.newDatabase('intake'),
    storageRoot: await newStorageRoot(ctx, 'intake'),
    api: { port, barePort },
  });
  const shop = shopFor('intake');
  const freshQueue = () => app.call('setTaskQueue', { taskQueue: newTaskQueue('intake') });
  const webhook = `http://127.0.0.1:${port}/webhooks/shopify`;
  const bareStart = `http://127.0.0.1:${barePort}/bare/start`;
  /** Bodies made before the clock starts: signed deliveries, or the bare route's line. */
  const prepare = (count: number, side: 'printready' | 'baseline') =>
    Array.from({ length: count }, (): Delivery =>
      side === 'printready'
        ? makeDelivery(shop, 1)
        : { body: JSON.stringify({ lines: [lineInput(shop, nextId(), nextId())] }), headers: { 'content-type': 'application/json' } },
    );
  // A 503 (the intake turned the delivery away: Temporal slower than its budget, on a loaded
  // machine) is sent again after a second, as Shopify would; its cost stays in the line's.
  const send = async (agent: Agent, side: 'printready' | 'baseline', delivery: Delivery) => {
    for (let attempt = 1; ; attempt++) {
      const answer = await httpCall(agent, side === 'printready' ? webhook : bareStart, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
      });
      if (answer.status === 200) return;
      if (answer.status !== 503 || attempt >= 10) throw new Error(`intake ${side} answered ${answer.status}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };
  const closed = async (side: 'printready' | 'baseline', count: number) => {
    await freshQueue();
    const bodies = prepare(count, side);
    let next = 0;
    return metered({ api: pidOf(app) }, () => closedLoop(CONNECTIONS, count, (agent) => send(agent, side, must(bodies[next++], 'a body'))));
  };
  const open = async (side: 'printready' | 'baseline', rate: number, count: number) => {
    await freshQueue();
    const bodies = prepare(count, side);
    return metered({ api: pidOf(app) }, () =>
      openLoop(rate, count, CONNECTIONS, (agent, index) => send(agent, side, must(bodies[index], 'a body'))),
    );
  };

  try {
    // Warm-up of both paths (JIT, connections, the server's caches), not measured; it also sizes the runs.
    const warmCount = ctx.quick ? 100 : 300;
    await closed('printready', warmCount);
    const warm = await closed('baseline', warmCount);
    const count = ctx.quick ? 200 : Math.max(400, Math.round(warm.result.perSecond * RUN_SECONDS));
    ctx.log(`  warm-up: bare start ${warm.result.perSecond.toFixed(0)} lines/s; ${count} deliveries per closed-loop run`);

    interface Run {
      result: LoopResult;
      cost: Cost;
    }
    const log =
      (label: string) =>
      (pair: number, { baseline, printready }: { baseline: Run; printready: Run }) =>
        ctx.log(
          `  ${label} pair ${pair + 1}: intake ${printready.result.perSecond.toFixed(0)}/s p99 ${printready.result.p99.toFixed(0)} ms api ${perUnit(printready.cost, printready.result.iterations).api} ms/line; ` +
            `bare ${baseline.result.perSecond.toFixed(0)}/s p99 ${baseline.result.p99.toFixed(0)} ms api ${perUnit(baseline.cost, baseline.result.iterations).api} ms/line`,
        );
    const closedRuns = await runPairs(
      ctx.pairs,
      () => closed('baseline', count),
      () => closed('printready', count),
      log('closed c50'),
    );
    const rate = Math.max(1, Math.round(median(closedRuns.baseline.map((run) => run.result.perSecond)) / 2));
    const openCount = ctx.quick ? Math.max(50, rate * 2) : Math.max(200, rate * RUN_SECONDS * 2);
    const openRuns = await runPairs(
      ctx.pairs,
      () => open('baseline', rate, openCount),
      () => open('printready', rate, openCount),
      log(`open ${rate}/s`),
    );

    const apiMs = (run: Run) => must(perUnit(run.cost, run.result.iterations).api, 'API CPU');
    const label = 'intake, 1 line/delivery';
    const rows: Row[] = [
      {
        scenario: `${label}, closed loop c${CONNECTIONS}`,
        metric: 'API CPU ms/line',
        printready: closedRuns.printready.map(apiMs),
        baseline: closedRuns.baseline.map(apiMs),
        target: { kind: 'ratio_at_most', value: 1.3 },
        note: "baseline: a bare route of the same app configuration making the intake's exact start",
      },
      {
        scenario: `${label}, closed loop c${CONNECTIONS}`,
        metric: 'lines/s',
        printready: closedRuns.printready.map((run) => run.result.perSecond),
        baseline: closedRuns.baseline.map((run) => run.result.perSecond),
        target: null,
        details: { deliveries: count },
      },
      {
        scenario: `${label}, open loop at ½ the bare start's capacity (${rate}/s)`,
        metric: 'p99 ms',
        printready: openRuns.printready.map((run) => run.result.p99),
        baseline: openRuns.baseline.map((run) => run.result.p99),
        target: { kind: 'below', value: 50 },
        details: {
          rate_per_s: rate,
          deliveries: openCount,
          p50_ms: {
            printready: openRuns.printready.map((run) => run.result.p50),
            baseline: openRuns.baseline.map((run) => run.result.p50),
          },
        },
      },
    ];
    const costs: CostRow[] = [
      {
        scenario: `${label}, closed loop`,
        side: 'printready',
        unit: 'line',
        runs: closedRuns.printready.map((run) => ({ units: run.result.iterations, cost: run.cost })),
      },
      {
        scenario: `${label}, closed loop`,
        side: 'baseline',
        unit: 'line',
        runs: closedRuns.baseline.map((run) => ({ units: run.result.iterations, cost: run.cost })),
      },
      {
        scenario: `${label}, open loop ${rate}/s`,
        side: 'printready',
        unit: 'line',
        runs: openRuns.printready.map((run) => ({ units: run.result.iterations, cost: run.cost })),
      },
      {
        scenario: `${label}, open loop ${rate}/s`,
        side: 'baseline',
        unit: 'line',
        runs: openRuns.baseline.map((run) => ({ units: run.result.iterations, cost: run.cost })),
      },
    ];
    return { rows, costs };
  } finally {
    await app.stop();
  }
}
