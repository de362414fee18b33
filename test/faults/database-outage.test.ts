import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { killAll } from '../support/child-processes.js';
import { eventually } from '../support/eventually.js';
import { must } from '../support/must.js';
import { Teardown } from '../support/teardown.js';
import { bigId, givenReadyPreview, makePng, newLine, uniqueShop } from '../support/fixtures.js';
import { lineFolder, listFiles } from './helpers.js';
import { FaultStack } from './stack.js';

/**
 * Postgres becomes unreachable for 30 s in the middle of a run: the proxy between it and both
 * the worker process and the API resets every connection and refuses new ones, then comes
 * back. Activities retry; no line is lost or doubled; `/readyz` says 503 meanwhile and recovers;
 * Shopify's deliveries are still accepted and the other routes answer 503, never 500.
 */
const OUTAGE_MS = 30_000;
const LINES_PER_ORDER = 4;

let stack: FaultStack;
const teardown = new Teardown();
const shop = uniqueShop('dbdown');
const orders = ['before', 'in-flight', 'during'].map((name) => {
  const orderId = bigId();
  return { name, orderId, lines: Array.from({ length: LINES_PER_ORDER }, () => newLine({ shop_id: shop, order_id: orderId })) };
});
const [before, inFlight, during] = orders as [(typeof orders)[number], (typeof orders)[number], (typeof orders)[number]];
const allLines = orders.flatMap((order) => order.lines);
const stalledOrderId = bigId();
const stalled = Array.from({ length: LINES_PER_ORDER }, () => newLine({ shop_id: shop, order_id: stalledOrderId }));
const expectedSha = new Map<string, string>();

beforeAll(async () => {
  stack = await FaultStack.start({ temporalAddress: inject('temporalAddress'), name: 'dbdown' });
  teardown.defer(() => stack.close());
  for (const [index, line] of allLines.entries()) {
    expectedSha.set(line.order_line_id, (await givenReadyPreview(stack, line, makePng(32 + index, 16))).sha256);
  }
  for (const line of stalled) await givenReadyPreview(stack, line, makePng(16, 16));
  await stack.startWorker('dbdown-worker');
});

afterAll(async () => {
  await killAll();
  await teardown.run();
});

const allPersisted = (lines: FulfillmentInput[]) => async () => {
  for (const line of lines) if ((await stack.statusOf(line)) !== 'persisted') return undefined;
  return true;
};

describe('a 30 s database outage', () => {
  it('runs normally before it', async () => {
    expect((await stack.readyz()).status).toBe(200);
    const response = await stack.deliver(shop, before.orderId, before.lines);
    expect(response.status).toBe(200);
    await eventually(allPersisted(before.lines), 'first order persisted', 30_000);
  });

  it('keeps the intake open, answers 503 elsewhere, and recovers', async () => {
    const accepted = await stack.deliver(shop, inFlight.orderId, inFlight.lines);
    expect(accepted.status).toBe(200);
    const cutAt = Date.now();
    await stack.proxy.cut();

    // Readiness says so at once; nothing answers 500.
    const notReady = await stack.readyz();
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      error: { code: 'not_ready', details: { checks: { database: 'unavailable', temporal: 'ok' } } },
    });

    // Shopify's delivery is accepted: the workflows are durable in Temporal and wait it out.
    const delivered = await stack.deliver(shop, during.orderId, during.lines);
    expect(delivered.status, await delivered.clone().text()).toBe(200);
    expect(((await delivered.json()) as { accepted: unknown[] }).accepted).toHaveLength(LINES_PER_ORDER);

    const status = await stack.lineStatus(must(before.lines[0], 'a line ordered before the outage'));
    expect(status.status).toBe(503);
    expect(await status.json()).toMatchObject({ error: { code: 'not_ready' } });

    // Half-way, still not ready.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2 - (Date.now() - cutAt)));
    expect((await stack.readyz()).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - cutAt)));

    await stack.proxy.restore();
    const restoredAt = Date.now();
    const outageMs = restoredAt - cutAt;
    await eventually(async () => ((await stack.readyz()).status === 200 ? true : undefined), 'ready again', 15_000);
    const readyAfterMs = Date.now() - restoredAt;
    await eventually(allPersisted(allLines), 'every line persisted', 90_000, 250);
    console.log(
      `database outage ${(outageMs / 1000).toFixed(1)} s: /readyz 200 again ${readyAfterMs} ms after it ended, ` +
        `all ${allLines.length} lines persisted ${((Date.now() - restoredAt) / 1000).toFixed(1)} s after it ended`,
    );
    expect(stack.worker?.alive).toBe(true);
  });

  it('lost and doubled nothing', async () => {
    const { rows } = await stack.countsPerLine(shop);
    const once = Object.fromEntries(allLines.map((line) => [line.order_line_id, 1]));
    expect(Object.fromEntries(rows)).toEqual(once);
    await eventually(async () => ((await stack.countsPerLine(shop)).events.size === allLines.length ? true : undefined), 'events', 10_000);
    expect(Object.fromEntries((await stack.countsPerLine(shop)).events)).toEqual(once);
    for (const line of allLines) {
      expect(await listFiles(lineFolder(stack.storageRoot, line))).toEqual([`${expectedSha.get(line.order_line_id)}.png`]);
    }
    const failures = await stack.db.selectFrom('fulfillment_failures').selectAll().where('shop_id', '=', shop).execute();
    expect(failures).toEqual([]);
    // No request failed with a 500 while the database was away.
    expect(stack.apiLogs.filter((line) => line.includes('"code":"internal_error"'))).toEqual([]);
  });

  it('answers within Shopify’s 5 s while the intake’s registration stalls, and the workflows register the lines', async () => {
    // Only the intake's registration inserts lines from arrays (every other write is Kysely's, quoted).
    stack.proxy.holdWhen('insert into order_lines (');
    try {
      const deliveredAt = Date.now();
      const response = await stack.deliver(shop, stalledOrderId, stalled);
      const answeredMs = Date.now() - deliveredAt;
      expect(response.status).toBe(200);
      expect(answeredMs).toBeLessThan(5_000);
      expect(stack.proxy.held).toBe(1);
      expect(stack.apiLogs.some((line) => line.includes('answered before the lines were registered'))).toBe(true);
      await eventually(allPersisted(stalled), 'the stalled order persisted', 60_000, 250);
      console.log(`intake answered 200 in ${answeredMs} ms with its registration held`);
    } finally {
      stack.proxy.release();
    }
  });
});
