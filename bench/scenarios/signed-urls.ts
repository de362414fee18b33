import { execFile } from 'node:child_process';
import { Agent } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiPorts, newStorageRoot, newTaskQueue, pidOf, PRINT_BUCKET, secrets, startApp, type BenchContext } from '../lib/context.js';
import { metered, perUnit, type Cost } from '../lib/cpu.js';
import { closedLoop, httpCall, type LoopResult } from '../lib/http-load.js';
import { shopFor } from '../lib/ids.js';
import { runPairs } from '../lib/pairs.js';
import type { CostRow, Row, ScenarioResult } from '../lib/report.js';
import { must } from '../../test/support/must.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const CONNECTIONS = 10;

/**
 * Scenario 4, signed URLs, each half against a bare route of the API's own app configuration
 * (`processes/app.ts`) doing the same work minus what is judged:
 *
 * - issuing: POST …/final-asset/signed-url (bearer token, the line's lookup, the object's
 *   check, the HMAC) against `POST /bare/sign/…`, the same lookup and HMAC;
 * - fetching: GET of the signed `/files` URL against `GET /bare/files/…` streaming the same
 *   file from disk; 1 MiB + 1 byte (one byte past a single read) and 16 MiB, over distinct
 *   files each fetched once per run, evicted from the page cache before every run (cold).
 */
export async function signedUrlScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const storageRoot = await newStorageRoot(ctx, 'urls');
  const { port, barePort } = await apiPorts();
  const app = await startApp('urls-api', {
    temporalAddress: ctx.env.temporalAddress,
    taskQueue: newTaskQueue('urls'),
    database: await ctx.env.newDatabase('urls'),
    storageRoot,
    api: { port, barePort },
  });
  const shop = shopFor('urls');
  const files = ctx.quick ? 10 : 100;
  const rows: Row[] = [];
  const costs: CostRow[] = [];
  interface Run {
    result: LoopResult;
    cost: Cost;
  }
  const costRows = (scenario: string, unit: string, runs: { baseline: Run[]; printready: Run[] }) =>
    (['printready', 'baseline'] as const).map((side): CostRow => ({
      scenario,
      side,
      unit,
      runs: runs[side].map((one) => ({ units: one.result.iterations, cost: one.cost })),
    }));
  try {
    for (const size of [MiB + 1, 16 * MiB]) {
      const seeded = await app.call<{ orderLineId: string; path: string }[]>('seedAssets', { shop, sizeBytes: size, count: files });
      const issueUrl = (line: string) => `http://127.0.0.1:${port}/v1/shops/${shop}/order-lines/${line}/final-asset/signed-url`;
      const issue = async (agent: Agent, line: string): Promise<string> => {
        const answer = await httpCall(agent, issueUrl(line), {
          method: 'POST',
          headers: { authorization: `Bearer ${secrets.apiToken}`, 'content-type': 'application/json' },
          body: '{"expires_in":3600}',
          collect: true,
        });
        if (answer.status !== 200) throw new Error(`signed-url answered ${answer.status}: ${answer.body?.toString()}`);
        return (JSON.parse(must(answer.body, 'the answer body').toString()) as { url: string }).url;
      };
      const bareIssue = async (agent: Agent, line: string) => {
        const answer = await httpCall(agent, `http://127.0.0.1:${barePort}/bare/sign/${shop}/${line}`, { method: 'POST', collect: true });
        if (answer.status !== 200) throw new Error(`bare sign answered ${answer.status}`);
      };
      const fetchOnce = async (agent: Agent, url: string) => {
        const answer = await httpCall(agent, url);
        if (answer.status !== 200 || answer.bytes !== size)
          throw new Error(`GET ${url} answered ${answer.status} with ${answer.bytes} bytes`);
      };
      const signed = await (async () => {
        const agent = new Agent({ keepAlive: true });
        try {
          const urls: string[] = [];
          for (const file of seeded) urls.push(await issue(agent, file.orderLineId));
          return urls;
        } finally {
          agent.destroy();
        }
      })();
      const bareUrls = seeded.map((file) => `http://127.0.0.1:${barePort}/bare/files/${PRINT_BUCKET}/${file.path}`);
      // Cold: each file dropped from the page cache (GNU dd's nocache) before every fetch run.
      const evict = () =>
        Promise.all(
          seeded.map((file) =>
            run('dd', [`if=${path.join(storageRoot, PRINT_BUCKET, file.path)}`, 'iflag=nocache', 'count=0', 'status=none']),
          ),
        );
      const fetchRun = async (urls: string[]) => {
        await evict();
        let next = 0;
        return metered({ api: pidOf(app) }, () =>
          closedLoop(CONNECTIONS, urls.length, (agent) => fetchOnce(agent, must(urls[next++ % urls.length], 'a URL'))),
        );
      };
      const sizeLabel = size === MiB + 1 ? '1 MiB + 1 B' : `${size / MiB} MiB`;
      const logPair = (what: string) => (pair: number, result: { baseline: Run; printready: Run }) =>
        ctx.log(
          `  ${what} pair ${pair + 1}: printready ${result.printready.result.perSecond.toFixed(0)}/s api ${perUnit(result.printready.cost, result.printready.result.iterations).api} ms; ` +
            `bare ${result.baseline.result.perSecond.toFixed(0)}/s api ${perUnit(result.baseline.cost, result.baseline.result.iterations).api} ms`,
        );
      await fetchRun(signed);
      await fetchRun(bareUrls);
      const fetched = await runPairs(
        ctx.pairs,
        () => fetchRun(bareUrls),
        () => fetchRun(signed),
        logPair(`fetch ${sizeLabel}`),
      );
      rows.push({
        scenario: `signed URL fetch, ${sizeLabel}, ${files} cold files, c${CONNECTIONS}`,
        metric: 'files/s',
        printready: fetched.printready.map((one) => one.result.perSecond),
        baseline: fetched.baseline.map((one) => one.result.perSecond),
        target: { kind: 'ratio_at_least', value: 0.8 },
        note: 'baseline: a bare route of the same app configuration streaming the same file from disk',
      });
      costs.push(...costRows(`signed URL fetch, ${sizeLabel}`, 'file', fetched));

      if (size === MiB + 1) {
        const count = ctx.quick ? 200 : 2000;
        const issueRun = async (side: 'printready' | 'baseline') => {
          let next = 0;
          return metered({ api: pidOf(app) }, () =>
            closedLoop(CONNECTIONS, count, async (agent) => {
              const line = must(seeded[next++ % seeded.length], 'a seeded line').orderLineId;
              if (side === 'printready') await issue(agent, line);
              else await bareIssue(agent, line);
            }),
          );
        };
        await issueRun('printready');
        await issueRun('baseline');
        const issued = await runPairs(
          ctx.pairs,
          () => issueRun('baseline'),
          () => issueRun('printready'),
          logPair('issue'),
        );
        rows.push({
          scenario: `signed URL issue, ${files} lines, c${CONNECTIONS}`,
          metric: 'URLs/s',
          printready: issued.printready.map((one) => one.result.perSecond),
          baseline: issued.baseline.map((one) => one.result.perSecond),
          target: { kind: 'ratio_at_least', value: 0.7 },
          note: 'baseline: a bare route of the same app configuration doing the same lookup and HMAC',
        });
        costs.push(...costRows('signed URL issue', 'URL', issued));
      }
    }
  } finally {
    await app.stop();
  }
  return { rows, costs };
}
