import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultMaxCachedWorkflows, BYTES_PER_CACHED_WORKFLOW } from '../../src/worker/workflow-cache.js';
import { PREVIEW_BUCKET } from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { freePort } from '../support/ports.js';
import { scrape, total } from './prometheus-text.js';
import { startWaitingLines, untilInStatus, wakeAll, type WaitingLinesTarget } from './waiting-lines.js';
import { Teardown } from '../support/teardown.js';

/**
 * A worker whose workflow cache holds 2 keeps 20 lines waiting for their previews, and when
 * every preview becomes ready at once, completes all of them (those evicted are replayed).
 * The heavy version, RSS and drain time at 2,000 and 10,000 lines, is bench/scenarios/waiting-lines.ts.
 */
let harness: FulfillmentHarness;
let target: WaitingLinesTarget;
let metricsUrl: string;

const teardown = new Teardown();
beforeAll(async () => {
  const address = `127.0.0.1:${await freePort()}`;
  metricsUrl = `http://${address}/metrics`;
  harness = await FulfillmentHarness.start({ maxCachedWorkflows: 2, workerMetricsAddress: address });
  teardown.defer(() => harness.close());
  target = {
    db: harness.db,
    client: harness.client,
    taskQueue: harness.taskQueue,
    previewBucket: PREVIEW_BUCKET,
    previewWaitSeconds: 600,
    put: harness.put,
  };
});

afterAll(() => teardown.run());

it('keeps at most its cache size of waiting workflows in memory and completes every line once woken', async () => {
  const lines = await startWaitingLines(target, 20);
  await untilInStatus(harness.db, lines, 'waiting_for_preview', 60_000);
  const cached = total(await scrape(metricsUrl), 'temporal_sticky_cache_size', { task_queue: harness.taskQueue });
  expect(cached).toBeLessThanOrEqual(2);

  await wakeAll(target, lines);
  await untilInStatus(harness.db, lines, 'persisted', 120_000);
});

it('sizes the default cache from the memory the worker is given', () => {
  const MiB = 1024 * 1024;
  expect(defaultMaxCachedWorkflows(512 * MiB)).toBe(Math.floor((128 * MiB) / BYTES_PER_CACHED_WORKFLOW));
  expect(defaultMaxCachedWorkflows(16 * MiB)).toBe(10);
  expect(defaultMaxCachedWorkflows(8 * 1024 * MiB)).toBeGreaterThan(defaultMaxCachedWorkflows(512 * MiB));
});
