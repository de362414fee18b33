import type { Agent } from 'node:http';
import { apiPorts, newStorageRoot, newTaskQueue, secrets, startApp, type BenchContext } from '../lib/context.js';
import { cpuDelta, sampleCpu } from '../lib/cpu.js';
import { closedLoop, httpCall, type LoopResult } from '../lib/http-load.js';
import { shopFor } from '../lib/ids.js';
import type { Row } from '../lib/report.js';

const ASSET_BYTES = 1024 * 1024;
const CONNECTIONS = 10;

/**
 * Scenario 4, signed URLs: issue (POST …/final-asset/signed-url with a bearer token) then fetch
 * (plain GET of the local /files URL) of a 1 MiB final asset, as pairs per second over 10
 * keep-alive connections, against a bare Fastify route returning the same bytes from memory
 * in the same process. The load generator is node:http (see lib/http-load.ts for why not
 * autocannon here).
 */
export async function signedUrlScenario(ctx: BenchContext): Promise<Row[]> {
  const database = await ctx.env.newDatabase('urls');
  const { port, barePort } = await apiPorts();
  const app = await startApp('urls-api', {
    temporalAddress: ctx.env.temporalAddress,
    taskQueue: newTaskQueue('urls'),
    database,
    storageRoot: await newStorageRoot(ctx, 'urls'),
    api: { port, barePort },
  });
  const shop = shopFor('urls');
  try {
    const { orderLineId } = await app.call<{ orderLineId: string }>('seedAsset', { shop, sizeBytes: ASSET_BYTES });
    const issuePath = `http://127.0.0.1:${port}/v1/shops/${shop}/order-lines/${orderLineId}/final-asset/signed-url`;
    const issueAndFetch = async (agent: Agent) => {
      const issued = await httpCall(agent, issuePath, {
        method: 'POST',
        headers: { authorization: `Bearer ${secrets.apiToken}`, 'content-type': 'application/json' },
        body: '{"expires_in":3600}',
        collect: true,
      });
      if (issued.status !== 200) throw new Error(`signed-url answered ${issued.status}: ${issued.body?.toString()}`);
      const { url } = JSON.parse(issued.body!.toString()) as { url: string };
      const file = await httpCall(agent, url);
      if (file.status !== 200 || file.bytes !== ASSET_BYTES) throw new Error(`GET of the signed URL answered ${file.status} with ${file.bytes} bytes`);
    };
    const bare = async (agent: Agent) => {
      const file = await httpCall(agent, `http://127.0.0.1:${barePort}/bytes`);
      if (file.status !== 200 || file.bytes !== ASSET_BYTES) throw new Error(`bare route answered ${file.status} with ${file.bytes} bytes`);
    };

    const count = ctx.quick ? 100 : 1000;
    await closedLoop(CONNECTIONS, count / 4, issueAndFetch);
    await closedLoop(CONNECTIONS, count / 4, bare);
    const printready: LoopResult[] = [];
    const baseline: LoopResult[] = [];
    const pids = { api: (app.info as { pid: number }).pid };
    const cpuMsPerOp = async (run: () => Promise<LoopResult>) => {
      const before = await sampleCpu(pids);
      const result = await run();
      const used = cpuDelta(before, await sampleCpu(pids));
      return { result, cpu: Object.fromEntries(Object.entries(used).map(([key, s]) => [key, Math.round((s * 1000 * 100) / result.iterations) / 100])) };
    };
    for (let rep = 0; rep < ctx.reps; rep++) {
      const base = await cpuMsPerOp(() => closedLoop(CONNECTIONS, count, bare));
      const real = await cpuMsPerOp(() => closedLoop(CONNECTIONS, count, issueAndFetch));
      baseline.push(base.result);
      printready.push(real.result);
      ctx.log(
        `  rep ${rep + 1}: issue+fetch ${real.result.perSecond.toFixed(0)}/s (p99 ${real.result.p99.toFixed(0)} ms, cpu ms/op ${JSON.stringify(real.cpu)}); ` +
          `bare ${base.result.perSecond.toFixed(0)}/s (p99 ${base.result.p99.toFixed(0)} ms, cpu ms/op ${JSON.stringify(base.cpu)})`,
      );
    }
    return [
      {
        scenario: `signed URL, 1 MiB asset, c${CONNECTIONS}`,
        metric: 'issue+fetch/s',
        printready: printready.map((result) => result.perSecond),
        baseline: baseline.map((result) => result.perSecond),
        target: { kind: 'ratio_at_least', value: 0.6 },
        note: 'baseline: GET of a bare Fastify route sending the same bytes from memory, same process',
      },
      {
        scenario: `signed URL, 1 MiB asset, c${CONNECTIONS}`,
        metric: 'requests/s (2 per issue+fetch)',
        printready: printready.map((result) => result.perSecond * 2),
        baseline: baseline.map((result) => result.perSecond),
        target: null,
        note: 'the same runs counted per HTTP request; the target is judged per file issued and fetched (the row above)',
      },
      {
        scenario: `signed URL, 1 MiB asset, c${CONNECTIONS}`,
        metric: 'p99 ms',
        printready: printready.map((result) => result.p99),
        baseline: baseline.map((result) => result.p99),
        target: null,
      },
    ];
  } finally {
    await app.stop();
  }
}
