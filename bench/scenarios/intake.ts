import type { Request } from 'autocannon';
import type { StartWorkflowsArgs, StartWorkflowsResult } from '../processes/app.js';
import { newStorageRoot, newTaskQueue, startApp, type BenchContext } from '../lib/context.js';
import { makeDelivery, type Delivery } from '../lib/deliveries.js';
import { shopFor } from '../lib/ids.js';
import { httpCall, openLoop, type LoopResult } from '../lib/http-load.js';
import { fire, type LoadResult } from '../lib/load.js';
import { freePort } from '../lib/ports.js';
import type { Row } from '../lib/report.js';
import { cpuDelta, sampleCpu, type CpuUse } from '../lib/cpu.js';
import { median, percentile } from '../lib/stats.js';
import { FULFILL_ORDER_LINE } from '../../src/workflows/definitions.js';

/** How long each measured run should last, about (sized from the warm-up's speed). */
const RUN_SECONDS = 4;

/** Deliveries answered 200 per second (a 503 is work Shopify has to send again). */
const acceptedPerS = (run: LoadResult): number => (run.requests - run.non2xx) / run.elapsedS;

/**
 * Scenario 1, intake: signed `orders/create` deliveries through the real Fastify app (listening,
 * real Temporal, real database) against the same number of bare `client.workflow.start` calls
 * at the same concurrency (grouped like the deliveries' lines), made by the same API process
 * with its own Temporal client, to the same Temporal server.
 *
 * No worker runs: the workflows stay pending on a task queue of their own that nobody polls
 * (a worker would compete for the 2 cores and blur what intake costs). The dev server is
 * thrown away at the end of the run, with them.
 */
export async function intakeScenario(ctx: BenchContext): Promise<Row[]> {
  const database = await ctx.env.newDatabase('intake');
  const port = await freePort();
  const app = await startApp('intake-api', {
    temporalAddress: ctx.env.temporalAddress,
    taskQueue: newTaskQueue('intake'),
    database,
    storageRoot: await newStorageRoot(ctx, 'intake'),
    api: { port },
  });
  const pids = { api: (app.info as { pid: number }).pid };
  const shop = shopFor('intake');
  const baselineShop = shopFor('intake-baseline');
  const rows: Row[] = [];
  try {
    const url = `http://127.0.0.1:${port}`;
    const starts = (mode: StartWorkflowsArgs['mode']) => (units: number, perUnit: number, concurrency: number) =>
      app.call<StartWorkflowsResult>('startWorkflows', { shop: baselineShop, units, perUnit, concurrency, mode, workflow: FULFILL_ORDER_LINE });
    const direct = starts('plain');
    // The intake's own start (search attributes, summary): what the API adds around the call
    // it has to make, apart from what the contract's start options cost Temporal.
    const sameStart = starts('printready');

    // Warm-up of both paths (JIT, connections, the server's caches), not measured; it also
    // sizes the runs: each should last ~RUN_SECONDS whatever this machine's speed.
    await sendDeliveries(url, signDeliveries(shop, ctx.quick ? 50 : 300, 1, 50), 50);
    const warm = await direct(ctx.quick ? 50 : 300, 1, 50);
    const linesPerS = (ctx.quick ? 50 : 300) / (warm.elapsedMs / 1000);
    ctx.log(`  warm-up: ${linesPerS.toFixed(0)} direct starts/s; runs sized for ~${RUN_SECONDS} s each`);

    for (const lines of [1, 5]) {
      for (const concurrency of [50, 200]) {
        // Every connection sends at least twice; otherwise about RUN_SECONDS of work.
        const deliveries = Math.max(concurrency * 2, Math.round((linesPerS * (ctx.quick ? 1 : RUN_SECONDS)) / lines));
        const label = `intake ${lines} line${lines > 1 ? 's' : ''}/delivery, c${concurrency}`;
        const api: LoadResult[] = [];
        const base: StartWorkflowsResult[] = [];
        const same: StartWorkflowsResult[] = [];
        const startsPerS = (run: StartWorkflowsResult) => (deliveries * lines) / (run.elapsedMs / 1000);
        const cpu: { printready: CpuUse[]; baseline: CpuUse[]; same_start: CpuUse[] } = { printready: [], baseline: [], same_start: [] };
        /** CPU ms per line of each component during `run`. */
        const measured = async <T>(into: CpuUse[], run: () => Promise<T>): Promise<T> => {
          const before = await sampleCpu(pids);
          const result = await run();
          const used = cpuDelta(before, await sampleCpu(pids));
          into.push(Object.fromEntries(Object.entries(used).map(([key, s]) => [key, Math.round(((s * 1000) / (deliveries * lines)) * 100) / 100])));
          return result;
        };
        for (let rep = 0; rep < ctx.reps; rep++) {
          base.push(await measured(cpu.baseline, () => direct(deliveries, lines, concurrency)));
          if (lines === 1) same.push(await measured(cpu.same_start, () => sameStart(deliveries, lines, concurrency)));
          // Signed before the clock (and the CPU count) starts.
          const signed = signDeliveries(shop, deliveries, lines, concurrency);
          const result = await measured(cpu.printready, () => sendDeliveries(url, signed, concurrency));
          if (result.errors > 0) throw new Error(`${label}: ${result.errors} connection errors or timeouts`);
          api.push(result);
          const last = base.at(-1)!;
          const sameRun = same[rep];
          ctx.log(
            `  ${label} rep ${rep + 1} (${deliveries} deliveries): api ${(acceptedPerS(result) * lines).toFixed(0)} lines/s ` +
              `p99 ${result.p99} ms${result.non2xx ? ` (${result.non2xx} answered 503)` : ''}; ` +
              `direct ${startsPerS(last).toFixed(0)} lines/s p99 ${percentile(last.latenciesMs, 99).toFixed(0)} ms; ` +
              `${sameRun ? `same start ${startsPerS(sameRun).toFixed(0)} lines/s; ` : ''}` +
              `cpu ms/line api ${JSON.stringify(cpu.printready.at(-1))} direct ${JSON.stringify(cpu.baseline.at(-1))}` +
              `${sameRun ? ` same start ${JSON.stringify(cpu.same_start.at(-1))}` : ''}`,
          );
        }
        const baseLinesPerS = base.map(startsPerS);
        const apiLinesPerS = api.map((run) => acceptedPerS(run) * lines);
        rows.push(
          {
            scenario: label,
            metric: 'lines/s',
            printready: apiLinesPerS,
            baseline: baseLinesPerS,
            target: { kind: 'ratio_at_least', value: 0.8 },
            details: { deliveries, cpu_ms_per_line: cpu },
          },
          ...(same.length > 0
            ? [
                {
                  scenario: label,
                  metric: 'lines/s against the intake\'s own start',
                  printready: apiLinesPerS,
                  baseline: same.map(startsPerS),
                  target: null,
                  note: 'baseline: the same starts with the search attributes and summary the intake sends; what the API adds around its start',
                },
              ]
            : []),
          {
            scenario: label,
            metric: 'deliveries/s',
            printready: api.map((run) => acceptedPerS(run)),
            baseline: baseLinesPerS.map((perS) => perS / lines),
            target: null,
          },
          {
            scenario: label,
            metric: 'p50 ms',
            printready: api.map((run) => run.p50),
            baseline: base.map((run) => percentile(run.latenciesMs, 50)),
            target: null,
          },
          {
            scenario: label,
            metric: 'p99 ms',
            printready: api.map((run) => run.p99),
            baseline: base.map((run) => percentile(run.latenciesMs, 99)),
            target: concurrency === 50 ? { kind: 'below', value: 50 } : null,
          },
        );
        if (lines === 1 && concurrency === 50) {
          // Closed-loop at saturation, latency is concurrency ÷ throughput (Little's law): mostly
          // Temporal's queue. Deliveries arriving evenly at a quarter of the direct starts' rate,
          // up to 50 in flight, show what one costs when the server keeps up.
          const rate = Math.max(1, Math.round(median(baseLinesPerS) / 4));
          const paced: LoopResult[] = [];
          // A 503 is the intake shedding load it cannot start in time (a loaded CI machine):
          // counted and shown, like the closed loop's. Any other answer is the bench's own bug.
          const turnedAway: number[] = [];
          for (let rep = 0; rep < ctx.reps; rep++) {
            const signed = signDeliveries(shop, Math.max(100, rate * RUN_SECONDS), 1, 0);
            let answered503 = 0;
            paced.push(
              await openLoop(rate, signed.count, concurrency, async (agent, index) => {
                const delivery = signed.bodies[index]!;
                const answer = await httpCall(agent, `${url}/webhooks/shopify`, { method: 'POST', headers: delivery.headers, body: delivery.body });
                if (answer.status === 503) answered503++;
                else if (answer.status !== 200) throw new Error(`${label} paced: answered ${answer.status}`);
              }),
            );
            turnedAway.push(answered503);
          }
          const ms = (values: number[]) => values.map((value) => value.toFixed(0)).join('/');
          ctx.log(
            `  ${label} paced at ${rate}/s: p50 ${ms(paced.map((run) => run.p50))} ms, p99 ${ms(paced.map((run) => run.p99))} ms` +
              `${turnedAway.some((count) => count > 0) ? `, answered 503: ${turnedAway.join('/')}` : ''}`,
          );
          rows.push({
            scenario: `intake 1 line/delivery, arriving evenly at ¼ of direct rate (${rate}/s), ≤ 50 in flight`,
            metric: 'p99 ms',
            printready: paced.map((run) => run.p99),
            baseline: null,
            target: { kind: 'below', value: 50 },
            details: { p50_ms: paced.map((run) => run.p50), rate_per_s: rate, answered_503: turnedAway },
          });
        }
        if (api.some((run) => run.non2xx > 0)) {
          rows.push({
            scenario: label,
            metric: '% answered 503',
            printready: api.map((run) => (run.non2xx / run.requests) * 100),
            baseline: null,
            target: null,
            note: 'temporal_unavailable: the starts did not finish within the API\'s 3 s Temporal budget (Shopify retries these)',
          });
        }
      }
    }
  } finally {
    await app.stop();
  }
  return rows;
}

/** `count` signed deliveries, and a few spare for requests autocannon prepares past `amount`. */
interface SignedDeliveries {
  count: number;
  bodies: Delivery[];
  /** Signs one more, should autocannon ask for more than were prepared. */
  another(): Delivery;
}

function signDeliveries(shop: string, count: number, lines: number, connections: number): SignedDeliveries {
  return { count, bodies: Array.from({ length: count + connections }, () => makeDelivery(shop, lines)), another: () => makeDelivery(shop, lines) };
}

/** The deliveries over `connections` keep-alive connections, each request with a body of its own. */
async function sendDeliveries(url: string, deliveries: SignedDeliveries, connections: number): Promise<LoadResult> {
  let next = 0;
  return fire({
    url,
    connections,
    amount: deliveries.count,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/shopify',
        setupRequest: (request: Request) => {
          const delivery = deliveries.bodies[next++] ?? deliveries.another();
          return { ...request, method: 'POST', path: '/webhooks/shopify', headers: delivery.headers, body: delivery.body };
        },
      },
    ],
  });
}
