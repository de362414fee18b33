import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { metered, perUnit } from '../../bench/lib/cpu.js';
import { closedLoop, httpCall, openLoop } from '../../bench/lib/http-load.js';
import { runPairs } from '../../bench/lib/pairs.js';
import { summarize, type Row } from '../../bench/lib/report.js';
import { bootstrapMedianInterval, median, percentile } from '../../bench/lib/stats.js';
import { TEST_DATABASE_URL } from '../support/database.js';
import { must } from '../support/must.js';

const row = (printready: number[], baseline: number[] | null, target: Row['target']): Row => ({
  scenario: 's',
  metric: 'm',
  printready,
  baseline,
  target,
});

describe('bench statistics and judging', () => {
  it('takes medians of odd and even counts and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    const hundred = Array.from({ length: 100 }, (_, index) => 100 - index);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });

  it('judges a ratio target on the median of the paired ratios, and a bound on printready alone', () => {
    // Pairs 80/100, 90/100, 60/120: ratios 0.8, 0.9, 0.5; their median is 0.8.
    const ratio = summarize(row([80, 90, 60], [100, 100, 120], { kind: 'ratio_at_least', value: 0.8 }));
    expect(ratio).toMatchObject({ printready_median: 80, baseline_median: 100, ratio: 0.8, met: true, pairs_kept: 3, pairs_dropped: 0 });
    expect(summarize(row([79], [100], { kind: 'ratio_at_least', value: 0.8 })).met).toBe(false);
    expect(summarize(row([1.4], [1], { kind: 'ratio_at_most', value: 1.3 })).met).toBe(false);
    expect(summarize(row([49.9], [500], { kind: 'below', value: 50 })).met).toBe(true);
    expect(summarize(row([50], null, { kind: 'below', value: 50 })).met).toBe(false);
    expect(summarize(row([20], null, { kind: 'at_most', value: 20 })).met).toBe(true);
    expect(summarize(row([1], null, null))).toMatchObject({ ratio: null, met: null, baseline_median: null });
  });

  it("drops a pair whose baseline is more than 25 % off the baselines' median", () => {
    // Baselines 100, 100, 100, 100, 200: the last is 100 % off; its ratio (0.1) would pull the median down.
    const summarized = summarize(row([100, 100, 100, 100, 20], [100, 100, 100, 100, 200], { kind: 'ratio_at_least', value: 0.9 }));
    expect(summarized).toMatchObject({ ratio: 1, pairs_kept: 4, pairs_dropped: 1, met: true });
  });

  it('gives a bootstrap interval around the median that widens with the spread', () => {
    const tight = bootstrapMedianInterval([1, 1, 1, 1, 1]);
    expect(tight).toEqual([1, 1]);
    const [low, high] = bootstrapMedianInterval([0.6, 0.8, 0.9, 1, 1.4]);
    expect(low).toBeLessThanOrEqual(0.9);
    expect(high).toBeGreaterThanOrEqual(0.9);
    expect(low).toBeGreaterThanOrEqual(0.6);
    expect(high).toBeLessThanOrEqual(1.4);
  });

  it('runs pairs in alternating order: AB, BA, AB', async () => {
    const order: string[] = [];
    const result = await runPairs(
      3,
      (pair) => Promise.resolve(order.push(`B${pair}`)),
      (pair) => Promise.resolve(order.push(`P${pair}`)),
    );
    expect(order).toEqual(['B0', 'P0', 'P1', 'B1', 'B2', 'P2']);
    expect(result.baseline).toHaveLength(3);
  });
});

describe('bench cost accounting', () => {
  it("charges Postgres CPU to the backend serving this process's connection, and this process's to the load generator", async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const { cost } = await metered({}, async () => {
        await client.query('select count(*) from generate_series(1, 3000000)');
        // 150 ms of this process's own CPU (not of the clock: the machine may be busy).
        for (const start = process.cpuUsage(); process.cpuUsage(start).user < 150_000;);
      });
      expect(cost.cpuMs.postgres).toBeGreaterThan(0);
      expect(cost.cpuMs.postgres).toBeLessThanOrEqual(must(cost.cpuMs.postgres_server, 'postgres_server CPU'));
      expect(cost.cpuMs.load).toBeGreaterThanOrEqual(150);
      expect(cost.peakRssMiB.postgres).toBeGreaterThan(0);
      const units = perUnit(cost, 10);
      expect(units.postgres).toBeCloseTo(must(cost.cpuMs.postgres, 'postgres CPU') / 10, 3);
      // The load generator is measured but never in the total.
      expect(units.total).toBeCloseTo((must(cost.cpuMs.postgres, 'postgres CPU') + (cost.cpuMs.temporal ?? 0)) / 10, 3);
    } finally {
      await client.end();
    }
  });
});

describe('bench load generators', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const size = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('bytes') ?? 0);
      response.writeHead(request.url?.startsWith('/missing') ? 404 : 200, { 'content-length': size });
      response.end(Buffer.alloc(size, 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('counts the bytes of an answer, and keeps them only when asked', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      expect(await httpCall(agent, `${base}/?bytes=70000`)).toEqual({ status: 200, body: null, bytes: 70_000 });
      const kept = await httpCall(agent, `${base}/?bytes=3`, { collect: true });
      expect(kept.body).toEqual(Buffer.alloc(3, 1));
      expect((await httpCall(agent, `${base}/missing`)).status).toBe(404);
    } finally {
      agent.destroy();
    }
  });

  it('closed loop: runs the step exactly as often as asked, one at a time per connection', async () => {
    let running = 0;
    let mostAtOnce = 0;
    let runs = 0;
    const result = await closedLoop(4, 30, async (agent) => {
      running++;
      runs++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await httpCall(agent, `${base}/?bytes=10`);
      running--;
    });
    expect(runs).toBe(30);
    expect(mostAtOnce).toBe(4);
    expect(result.iterations).toBe(30);
    expect(result.perSecond).toBeGreaterThan(0);
  });

  it("open loop: latency counts from each arrival's scheduled time, so a server that falls behind shows it", async () => {
    // Arrivals every 10 ms, one at a time, each taking 30 ms: the queue grows by ~20 ms a run.
    const result = await openLoop(100, 10, 1, () => sleep(30));
    expect(result.p50).toBeGreaterThanOrEqual(30);
    // The last arrival was due at 90 ms and could only start after nine 30 ms runs.
    expect(result.p99).toBeGreaterThanOrEqual(200);
  });

  it('open loop: keeps at most maxInFlight running, and fails with the first error once in-flight runs settle', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const settled: number[] = [];
    const run = openLoop(1_000, 20, 3, async (_agent, index) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(index === 4 ? 1 : 20);
      running--;
      if (index === 4) throw new Error('run 4 failed');
      settled.push(index);
    });
    await expect(run).rejects.toThrow('run 4 failed');
    expect(mostAtOnce).toBe(3);
    expect(running).toBe(0);
    expect(Math.max(...settled)).toBeLessThan(19);
  });
});
