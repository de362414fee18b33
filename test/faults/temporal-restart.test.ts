import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { killAll } from '../support/child-processes.js';
import { eventually } from '../support/eventually.js';
import { Teardown } from '../support/teardown.js';
import { bigId, givenReadyPreview, makePng, newLine, postPreviewJob, previewJob, uniqueShop } from '../support/fixtures.js';
import { TemporalDevServer } from '../support/temporal-dev-server.js';
import { lineFolder, listFiles } from './helpers.js';
import { FaultStack } from './stack.js';

/**
 * The Temporal server (a dev server of this test's own, persisted to a file) is stopped for
 * about 10 s in the middle of a run and started again. Workflows that were running (one order
 * waiting for its previews, one with activities in flight) resume; the intake answers 503
 * while it is down, and Shopify's retry of the same signed delivery then succeeds. A preview
 * posted while it is down reaches its waiting line by the generator's next post or, for a line
 * nobody nudges, by the line's own poll (every minute). Every line ends with exactly one
 * workflow, one asset row, one object and one persisted event.
 */
let server: TemporalDevServer;
let stack: FaultStack;
const teardown = new Teardown();
let workDir: string;

const shop = uniqueShop('tmprl');
const order = (name: string) => {
  const orderId = bigId();
  return { name, orderId, lines: Array.from({ length: 3 }, () => newLine({ shop_id: shop, order_id: orderId })) };
};
const baseline = order('baseline');
const waiting = order('waiting for previews');
/** Its preview's only signal is lost while the server is down: the line finds it by polling. */
const [unnudged] = waiting.lines.slice(-1) as [FulfillmentInput];
const inFlight = order('in flight');
const duringOutage = order('delivered during the outage');
const allLines = [baseline, waiting, inFlight, duringOutage].flatMap((o) => o.lines);
const expectedSha = new Map<string, string>();

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'printready-temporal-'));
  teardown.defer(() => rm(workDir, { recursive: true, force: true }));
  server = await TemporalDevServer.start(path.join(workDir, 'temporal.db'));
  // A six-minute wait: the unnudged line looks by itself every minute, within the test's time.
  stack = await FaultStack.start({ temporalAddress: server.address, name: 'tmprl', previewWaitSeconds: 360 });
  teardown.defer(() => stack.close());
  for (const [index, line] of allLines.entries()) {
    expectedSha.set(line.order_line_id, (await givenReadyPreview(stack, line, makePng(20 + index, 20))).sha256);
  }
  await stack.startWorker('tmprl-worker');
});

afterAll(async () => {
  await killAll();
  await teardown.run();
});

const allIn = (lines: FulfillmentInput[], status: string) => async () => {
  for (const line of lines) if ((await stack.statusOf(line)) !== status) return undefined;
  return true;
};

/** The generator's hand-off, as it posts it. */
const postPreview = (line: FulfillmentInput, status: 'rendering' | 'ready') =>
  postPreviewJob(stack.base, stack.creds.operatorToken, previewJob(line, { status, content_type: 'image/png' }));

describe('a Temporal server restart', () => {
  it('runs normally before it', async () => {
    expect((await stack.deliver(shop, baseline.orderId, baseline.lines)).status).toBe(200);
    await eventually(allIn(baseline.lines, 'persisted'), 'baseline persisted', 30_000);

    // These lines' previews are re-rendered: the lines wait for them.
    await stack.db
      .deleteFrom('preview_jobs')
      .where(
        'personalization_id',
        'in',
        waiting.lines.map((line) => line.personalization_id),
      )
      .execute();
    for (const line of waiting.lines) expect((await postPreview(line, 'rendering')).status).toBe(201);
    expect((await stack.deliver(shop, waiting.orderId, waiting.lines)).status).toBe(200);
    await eventually(allIn(waiting.lines, 'waiting_for_preview'), 'lines waiting for their previews', 30_000);
  });

  it('answers 503 while it is down, and Shopify’s retry succeeds after', async () => {
    // Activities of these lines are running when the server goes.
    expect((await stack.deliver(shop, inFlight.orderId, inFlight.lines)).status).toBe(200);
    const stoppedAt = Date.now();
    await server.stop();
    const caught = (await Promise.all(inFlight.lines.map((line) => stack.statusOf(line)))).filter(
      (status) => status !== 'persisted',
    ).length;
    console.log(`Temporal stopped with ${caught} of ${inFlight.lines.length} just-delivered lines not yet persisted`);

    const ready = await stack.readyz();
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      error: { code: 'not_ready', details: { checks: { temporal: 'unavailable', database: 'ok' } } },
    });

    const webhookId = `wh-${randomBytes(6).toString('hex')}`;
    const intakeStarted = Date.now();
    const refused = await stack.deliver(shop, duringOutage.orderId, duringOutage.lines, { webhookId });
    const intakeMs = Date.now() - intakeStarted;
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'temporal_unavailable' } });
    expect(intakeMs).toBeLessThan(5_000);

    // The generator's hand-off is recorded even so (waking the lines is best effort).
    for (const line of waiting.lines) expect((await postPreview(line, 'ready')).status).toBe(201);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    await server.start();
    const downMs = Date.now() - stoppedAt;

    // Shopify retries the same signed delivery, until it gets a 2xx.
    const accepted = await eventually(
      async () => {
        const response = await stack.deliver(shop, duringOutage.orderId, duringOutage.lines, { webhookId });
        return response.status === 200 ? ((await response.json()) as { accepted: { status: string }[] }) : undefined;
      },
      'the redelivery accepted',
      30_000,
      1_000,
    );
    expect(accepted.accepted.map((line) => line.status)).toEqual(['started', 'started', 'started']);
    // The generator posts again: those waiting lines wake at once, the last one at its poll.
    for (const line of waiting.lines) if (line !== unnudged) expect((await postPreview(line, 'ready')).status).toBe(200);

    const restartedAt = Date.now();
    // The unnudged line's poll comes a minute after it began waiting, before the outage.
    await eventually(allIn(allLines, 'persisted'), 'every line persisted', 120_000, 250);
    console.log(
      `Temporal down ${(downMs / 1000).toFixed(1)} s (intake answered 503 in ${intakeMs} ms); ` +
        `all ${allLines.length} lines persisted ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after it came back`,
    );
    expect(stack.worker?.alive).toBe(true);
    const history = await stack.client.workflow.getHandle(fulfillmentWorkflowId(unnudged)).fetchHistory();
    expect(history.events?.filter((event) => event.workflowExecutionSignaledEventAttributes)).toEqual([]);
  });

  it('made exactly one workflow, asset and event per line', async () => {
    const count = await eventually(
      async () => {
        const { count } = await stack.client.workflow.count(`ShopId = "${shop}"`);
        return count === allLines.length ? count : undefined;
      },
      'visibility count',
      20_000,
      250,
    );
    expect(count).toBe(allLines.length);
    const once = Object.fromEntries(allLines.map((line) => [line.order_line_id, 1]));
    expect(Object.fromEntries((await stack.countsPerLine(shop)).rows)).toEqual(once);
    await eventually(async () => ((await stack.countsPerLine(shop)).events.size === allLines.length ? true : undefined), 'events', 10_000);
    expect(Object.fromEntries((await stack.countsPerLine(shop)).events)).toEqual(once);
    for (const line of allLines) {
      expect(await listFiles(lineFolder(stack.storageRoot, line))).toEqual([`${expectedSha.get(line.order_line_id)}.png`]);
    }
  });
});
