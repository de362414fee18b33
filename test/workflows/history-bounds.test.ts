import { afterAll, beforeAll, expect, it } from 'vitest';
import { listLineFailures } from '../../src/db/repositories/failures.js';
import { previewReadySignal, retrySignal } from '../../src/workflows/definitions.js';
import { FulfillmentStatus, ShopId } from '../../src/workflows/search-attributes.js';
import { makePng, newLine, PREVIEW_BUCKET, recordJob, sha256 } from '../support/fixtures.js';
import { FulfillmentHarness } from '../support/fulfillment-harness.js';
import { saveHistory } from '../support/histories.js';
import { Teardown } from '../support/teardown.js';
import { TemporalDevServer } from '../support/temporal-dev-server.js';

/**
 * A line's history stays bounded however long it waits and however often it is retried.
 * Temporal suggests continuing as new from 4 Ki events; this server of the test's own does so
 * from 16, so that a retry reaches it (a failed line's first run is 15 events).
 */
let server: TemporalDevServer;
let harness: FulfillmentHarness;
const teardown = new Teardown();

beforeAll(async () => {
  server = await TemporalDevServer.start(undefined, ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=16']);
  teardown.defer(() => server.stop());
  harness = await FulfillmentHarness.start({ temporalAddress: server.address, previewWaitSeconds: 86_400 });
  teardown.defer(() => harness.close());
}, 60_000);
afterAll(() => teardown.run());

it('goes on in a new run when Temporal suggests it, counting attempts on, until the line is persisted', async () => {
  const line = newLine();
  const path = await recordJob(harness.db, line);
  const { workflow_id } = await harness.start(line);
  const handle = harness.handle(workflow_id);
  const firstRun = (await handle.describe()).runId;

  // Failed (the preview is not there), retried, failed again: in a new run after the retry.
  await harness.waitForStatus(workflow_id, 'failed');
  await handle.signal(retrySignal);
  await expect.poll(async () => (await listLineFailures(harness.db, line.shop_id, line.order_line_id)).length, { timeout: 20_000 }).toBe(2);
  await harness.waitForStatus(workflow_id, 'failed');
  const secondRun = (await handle.describe()).runId;
  expect(secondRun).not.toBe(firstRun);

  const png = makePng(12, 12);
  await harness.put(PREVIEW_BUCKET, path, png);
  await handle.signal(retrySignal);
  expect(await handle.result()).toMatchObject({ status: 'persisted', final_asset: { sha256: sha256(png) } });

  const failures = await listLineFailures(harness.db, line.shop_id, line.order_line_id);
  expect(failures.map((failure) => failure.attempt).sort()).toEqual([1, 2]);
  const description = await handle.describe();
  expect(description.typedSearchAttributes.get(ShopId)).toBe(line.shop_id);
  expect(description.typedSearchAttributes.get(FulfillmentStatus)).toBe('persisted');
  // One started event for the line, and each attempt's failure and retry under its own number.
  const events = (name: string) =>
    harness.posthog.uniqueByUuid().filter((event) => event.event === name && event.properties.order_line_id === line.order_line_id);
  await expect.poll(() => events('fulfillment.asset.persisted').length, { timeout: 5_000 }).toBe(1);
  expect(events('fulfillment.started')).toHaveLength(1);
  expect(
    events('fulfillment.asset.failed')
      .map((event) => event.properties.attempt)
      .sort(),
  ).toEqual([1, 2]);
  expect(
    events('fulfillment.retry_requested')
      .map((event) => event.properties.attempt)
      .sort(),
  ).toEqual([2, 3]);
  await saveHistory(harness.client.workflow.getHandle(workflow_id, firstRun), 'continued-as-new');
  await saveHistory(harness.client.workflow.getHandle(workflow_id, secondRun), 'resumed-failed-continued-as-new');
  await saveHistory(handle, 'resumed-after-continue-as-new');
});

it('looks by itself every quarter of an hour in a day-long wait (96 looks), not every minute', async () => {
  const line = newLine();
  const path = await recordJob(harness.db, line, { status: 'rendering' });
  const { workflow_id } = await harness.start(line);
  await harness.waitForStatus(workflow_id, 'waiting_for_preview');
  const handle = harness.handle(workflow_id);
  let timers: number[] = [];
  await expect
    .poll(
      async () => {
        const { events } = await handle.fetchHistory();
        timers = (events ?? []).flatMap((event) =>
          event.timerStartedEventAttributes ? [Number(event.timerStartedEventAttributes.startToFireTimeout?.seconds)] : [],
        );
        return timers.length;
      },
      { timeout: 10_000 },
    )
    .toBeGreaterThan(0);
  expect(timers[0]).toBe(900);

  await harness.put(PREVIEW_BUCKET, path, makePng(8, 8));
  await recordJob(harness.db, line, { path });
  await handle.signal(previewReadySignal);
  expect(await handle.result()).toMatchObject({ status: 'persisted' });
  await saveHistory(handle, 'long-wait-polls');
});
