import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { killAll } from '../support/child-processes.js';
import { eventually } from '../support/eventually.js';
import { bigId, givenReadyPreview, makePng, newLine, uniqueShop } from '../support/fixtures.js';
import { Teardown } from '../support/teardown.js';
import { FaultStack } from './stack.js';

/**
 * The intake reads whether an order's lines were closed (cancelled, refunded) before it starts
 * them. With that read stuck in a database that stopped answering, the delivery is still
 * answered within Shopify's 5 s, and the lines start: each checks its order at its first step.
 */
let stack: FaultStack;
const teardown = new Teardown();
const shop = uniqueShop('closure-stall');
const orderId = bigId();
const lines = [newLine({ shop_id: shop, order_id: orderId }), newLine({ shop_id: shop, order_id: orderId })];

beforeAll(async () => {
  stack = await FaultStack.start({ temporalAddress: inject('temporalAddress'), name: 'closurestall' });
  teardown.defer(() => stack.close());
  for (const line of lines) await givenReadyPreview(stack, line, makePng(16, 16));
  await stack.startWorker('closurestall-worker');
});

afterAll(async () => {
  await killAll();
  await teardown.run();
});

it('answers within Shopify’s 5 s while the read of the order’s closures stalls, and the lines are fulfilled', async () => {
  // Only the intake's closure read joins orders to the keys it was given.
  stack.proxy.holdWhen('from orders o join unnest(');
  try {
    const deliveredAt = Date.now();
    const response = await stack.deliver(shop, orderId, lines);
    const answeredMs = Date.now() - deliveredAt;
    expect(response.status).toBe(200);
    expect(answeredMs).toBeLessThan(5_000);
    expect(stack.proxy.held).toBe(1);
    expect(((await response.json()) as { accepted: unknown[] }).accepted).toHaveLength(2);
  } finally {
    stack.proxy.release();
  }
  await eventually(
    async () => {
      for (const line of lines) {
        const answer = await stack.lineStatus(line);
        if (answer.status !== 200 || ((await answer.json()) as { status: string }).status !== 'persisted') return undefined;
      }
      return true;
    },
    'the order persisted',
    60_000,
    250,
  );
});
