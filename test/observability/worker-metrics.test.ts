import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { linesTotal, registry } from '../../src/telemetry/metrics/metrics.js';
import { collectMetrics, serveWorkerMetrics, splitAddress } from '../../src/telemetry/metrics/worker-metrics.js';
import { freePort } from '../support/ports.js';
import type { Server } from 'node:http';
import { parseSamples, total } from './prometheus-text.js';
import { Teardown } from '../support/teardown.js';

let server: Server;
let url: string;

const teardown = new Teardown();
beforeAll(async () => {
  const address = `127.0.0.1:${await freePort()}`;
  server = await serveWorkerMetrics(address);
  teardown.defer(() => server.close());
  url = `http://${address}/metrics`;
});

afterAll(() => teardown.run());

it('serves the worker’s counts as Prometheus text and adds up every worker’s in the API’s answer', async () => {
  linesTotal.inc({ status: 'persisted' }, 3);
  const own = total(parseSamples(await registry.metrics()), 'printready_lines_total', { status: 'persisted' });
  const direct = await fetch(url);
  expect(direct.headers.get('content-type')).toContain('text/plain');
  expect(total(parseSamples(await direct.text()), 'printready_lines_total', { status: 'persisted' })).toBe(own);

  // This process is the API and, at `url`, a worker too: the sum counts it twice. A worker
  // that does not answer is left out rather than failing the scrape.
  const dead = `http://127.0.0.1:${await freePort()}/metrics`;
  const summed = parseSamples(await collectMetrics([url, dead]));
  expect(total(summed, 'printready_lines_total', { status: 'persisted' })).toBe(2 * own);
  // Only the worker-owned metrics are added: the API's own process metrics stay its own.
  expect(summed.filter((sample) => sample.name === 'process_start_time_seconds')).toHaveLength(1);
});

it('reads the metric addresses: a default, empty turning it off, host:port or [v6]:port only', () => {
  expect(loadConfig({})).toMatchObject({
    WORKER_METRICS_ADDRESS: '127.0.0.1:9464',
    WORKER_APP_METRICS_ADDRESS: '127.0.0.1:9465',
    WORKER_APP_METRICS_URLS: [],
  });
  expect(loadConfig({ WORKER_METRICS_ADDRESS: '', WORKER_APP_METRICS_ADDRESS: ' ' })).toMatchObject({
    WORKER_METRICS_ADDRESS: null,
    WORKER_APP_METRICS_ADDRESS: null,
  });
  expect(loadConfig({ WORKER_METRICS_ADDRESS: '[::1]:9000' }).WORKER_METRICS_ADDRESS).toBe('[::1]:9000');
  expect(splitAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
  expect(() => loadConfig({ WORKER_METRICS_ADDRESS: 'localhost' })).toThrow(/WORKER_METRICS_ADDRESS: must be host:port/);
  expect(() => loadConfig({ WORKER_APP_METRICS_URLS: 'not a url' })).toThrow(/WORKER_APP_METRICS_URLS/);
});
