import { createServer, type Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import { registry, WORKER_METRICS } from './metrics.js';

/** `host:port` or `[v6]:port`, as `WORKER_METRICS_ADDRESS` and `WORKER_APP_METRICS_ADDRESS` are written. */
export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}

/**
 * The worker's own metrics (lines, failures, bytes) at `address`: Prometheus text for a direct
 * scrape, JSON (`Accept: application/json`) for the API, which adds up its workers'.
 */
export async function serveWorkerMetrics(address: string): Promise<Server> {
  const server = createServer((request, response) => {
    const json = request.headers.accept?.includes('application/json') ?? false;
    const body = json ? registry.getMetricsAsJSON().then((metrics) => JSON.stringify(metrics)) : registry.metrics();
    body.then(
      (text) => response.writeHead(200, { 'content-type': json ? 'application/json' : registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  const { host, port } = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

type MetricsJson = Awaited<ReturnType<typeof registry.getMetricsAsJSON>>;

/**
 * What the API's `/metrics` answers: its own registry, plus the worker-owned metrics of every
 * worker at `urls`, summed (a worker that does not answer within the timeout is left out).
 * Without urls (one process, `npm run dev`), the worker's activities count in this registry.
 */
export async function collectMetrics(urls: readonly string[], timeoutMs = 2_000): Promise<string> {
  if (urls.length === 0) return registry.metrics();
  const workers = await Promise.all(
    urls.map(async (url) => {
      try {
        const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) return [];
        const metrics = (await response.json()) as MetricsJson;
        return metrics.filter((entry) => WORKER_METRICS.includes(entry.name));
      } catch {
        return [];
      }
    }),
  );
  // Each metric of the API's own appears once: a sum of one keeps it as it is (the default
  // metrics' cluster aggregators would drop some of them).
  const own = (await registry.getMetricsAsJSON()).map((entry) => ({ ...entry, aggregator: 'sum' as const }));
  return AggregatorRegistry.aggregate([own, ...workers]).metrics();
}
