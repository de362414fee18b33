import type { Request } from 'autocannon';
import type { StartWorkflowsResult } from '../processes/app.js';
import { newStorageRoot, newTaskQueue, startApp, type BenchContext } from '../lib/context.js';
import { makeDelivery, type Delivery } from '../lib/deliveries.js';
import { shopFor } from '../lib/ids.js';
import { fire, type LoadResult } from '../lib/load.js';
import { freePort } from '../lib/ports.js';
import type { Row } from '../lib/report.js';
import { percentile } from '../lib/stats.js';
import { FULFILL_ORDER_LINE } from '../../src/workflows/definitions.js';

/** How long each measured run should last, about (sized from the warm-up's speed). */
const RUN_SECONDS = 5;

/** Deliveries answered 200 per second (a 503 is work Shopify has to send again). */
const acceptedPerS = (run: LoadResult): number => (run.requests - run.non2xx) / run.elapsedS;

/**
 * Scenario 1, intake: signed `orders/create` deliveries through the real Fastify app (listening,
 * real Temporal, real database) against the same number of bare `client.workflow.start` calls
 * at the same concurrency, from the same kind of process, to the same Temporal server.
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
  const shop = shopFor('intake');
  const baselineShop = shopFor('intake-baseline');
  const rows: Row[] = [];
  try {
    const viaApi = (deliveries: number, lines: number, connections: number) =>
      sendDeliveries(`http://127.0.0.1:${port}`, shop, deliveries, lines, connections);
    const direct = (units: number, perUnit: number, concurrency: number) =>
      app.call<StartWorkflowsResult>('startWorkflows', {
        shop: baselineShop,
        units,
        perUnit,
        concurrency,
        mode: 'plain',
        workflow: FULFILL_ORDER_LINE,
      });

    // Warm-up of both paths (JIT, connections, the server's caches), not measured; it also
    // sizes the runs: each should last ~RUN_SECONDS whatever this machine's speed.
    await viaApi(ctx.quick ? 50 : 300, 1, 50);
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
        for (let rep = 0; rep < ctx.reps; rep++) {
          base.push(await direct(deliveries, lines, concurrency));
          const result = await viaApi(deliveries, lines, concurrency);
          if (result.errors > 0) throw new Error(`${label}: ${result.errors} connection errors or timeouts`);
          api.push(result);
          const last = base.at(-1)!;
          ctx.log(
            `  ${label} rep ${rep + 1} (${deliveries} deliveries): api ${(acceptedPerS(result) * lines).toFixed(0)} lines/s ` +
              `p99 ${result.p99} ms${result.non2xx ? ` (${result.non2xx} answered 503)` : ''}; ` +
              `direct ${((deliveries * lines) / (last.elapsedMs / 1000)).toFixed(0)} lines/s p99 ${percentile(last.latenciesMs, 99).toFixed(0)} ms`,
          );
        }
        const baseLinesPerS = base.map((run) => (deliveries * lines) / (run.elapsedMs / 1000));
        rows.push(
          {
            scenario: label,
            metric: 'lines/s',
            printready: api.map((run) => acceptedPerS(run) * lines),
            baseline: baseLinesPerS,
            target: { kind: 'ratio_at_least', value: 0.8 },
          },
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

/** `count` deliveries over `connections` keep-alive connections, each with a fresh signed body. */
async function sendDeliveries(url: string, shop: string, count: number, lines: number, connections: number): Promise<LoadResult> {
  // Signed before the clock starts; a few spare for requests autocannon prepares past `amount`.
  const deliveries: Delivery[] = Array.from({ length: count + connections }, () => makeDelivery(shop, lines));
  let next = 0;
  return fire({
    url,
    connections,
    amount: count,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/shopify',
        setupRequest: (request: Request) => {
          const delivery = deliveries[next++] ?? makeDelivery(shop, lines);
          return { ...request, method: 'POST', path: '/webhooks/shopify', headers: delivery.headers, body: delivery.body };
        },
      },
    ],
  });
}
