import { Agent, request } from 'node:http';
import { percentile } from './stats.js';

/**
 * A closed-loop load generator on node:http (llhttp, keep-alive), for what autocannon does
 * poorly: large bodies (its JS parser costs ~15 ms of CPU per MiB here, so it, not the server,
 * would be measured) and steps that use the previous answer (issue a URL, then fetch it).
 */
export interface HttpAnswer {
  status: number;
  /** The body when `collect` was asked for; otherwise only counted. */
  body: Buffer | null;
  bytes: number;
}

export function httpCall(
  agent: Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; collect?: boolean } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.collect) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: options.collect ? Buffer.concat(chunks) : null, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface LoopResult {
  iterations: number;
  elapsedS: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** `iterations` runs of `step` over `connections` keep-alive connections, each connection one loop. */
export async function closedLoop(connections: number, iterations: number, step: (agent: Agent) => Promise<void>): Promise<LoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let started = 0;
  const begin = performance.now();
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (started < iterations) {
          started++;
          const sent = performance.now();
          await step(agent);
          latencies.push(performance.now() - sent);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const elapsedS = (performance.now() - begin) / 1000;
  return { iterations, elapsedS, perSecond: iterations / elapsedS, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * `count` runs of `step` started at an even `rate` per second (open loop: arrivals do not wait
 * for answers, unlike autocannon's `overallRate`, which fires every connection at once at each
 * second's tick), at most `maxInFlight` at a time. Latency counts from each run's scheduled
 * start, so a server that falls behind is not flattered (no coordinated omission).
 */
export async function openLoop(
  rate: number,
  count: number,
  maxInFlight: number,
  step: (agent: Agent, index: number) => Promise<void>,
): Promise<LoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const latencies: number[] = [];
  const running = new Set<Promise<void>>();
  // The first failure ends the run once what is in flight has settled (never left unhandled).
  let failure: { error: unknown } | undefined;
  const begin = performance.now();
  try {
    for (let index = 0; index < count && !failure; index++) {
      const due = begin + (index * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (running.size >= maxInFlight) await Promise.race(running);
      const run: Promise<void> = step(agent, index)
        .then(
          () => {
            latencies.push(performance.now() - due);
          },
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => running.delete(run));
      running.add(run);
    }
    await Promise.all(running);
  } finally {
    agent.destroy();
  }
  if (failure) throw failure.error;
  const elapsedS = (performance.now() - begin) / 1000;
  return { iterations: count, elapsedS, perSecond: count / elapsedS, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
