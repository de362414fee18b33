import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery } from '../../src/workflows/definitions.js';
import { FulfillmentStatus } from '../../src/workflows/search-attributes.js';
import { bigId } from '../support/fixtures.js';
import { must } from '../support/must.js';
import { Teardown } from '../support/teardown.js';
import { startClosureStack, type ClosureStack } from './closure-stack.js';

/**
 * `orders/cancelled` and `orders/create` of one order sent at once, 100 times, on the real dev
 * server and Postgres: whichever comes first, every line ends in exactly one consistent state,
 * and the database row, the status route, the workflow's status query and search attribute,
 * the print bucket and PostHog all say the same. Rounds run in parallel batches, so the race
 * also meets other orders' traffic and the test stays a few seconds long.
 */
const ROUNDS = 100;
const BATCH = 10;

const teardown = new Teardown();
let stack: ClosureStack;

beforeAll(async () => {
  stack = await startClosureStack(teardown);
});

afterAll(() => teardown.run());

interface IntakeAnswer {
  accepted: { order_line_id: string }[];
  ignored: { order_line_id: string; reason: string }[];
}

/**
 * How much later the cancellation is sent than the create (negative: earlier), round after
 * round: sent at once the two meet in the middle (the create's lines start, then close), and the
 * offsets reach the other orders of arrival (cancelled before the create reads it, or after a
 * line persisted) whatever the machine's load.
 */
const CANCEL_OFFSETS_MS = [0, -40, 0, 15, 0, 60, 0, 250, 0, 1_000];

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One round: an order of two lines, created and cancelled about at once; its previews ready or still rendering. */
async function raceOnce(ready: boolean, offsetMs: number): Promise<string[]> {
  const orderId = bigId();
  const lines = [bigId(), bigId()];
  for (const line of lines) await stack.givenPreview(line, ready ? 'ready' : 'rendering');
  const [created, cancelled] = await Promise.all([
    later(Math.max(0, -offsetMs)).then(() => stack.deliver('orders/create', stack.payloads.create(orderId, lines))),
    later(Math.max(0, offsetMs)).then(() => stack.deliver('orders/cancelled', stack.payloads.cancelled(orderId, lines))),
  ]);
  expect(created.statusCode, created.body).toBe(200);
  expect(cancelled.statusCode, cancelled.body).toBe(200);
  const answer = created.json<IntakeAnswer>();
  // When the cancellation was recorded: nothing may have persisted after it.
  const recordedAt = must((await stack.orderRow(orderId))?.updated_at, 'the cancellation recorded');
  const ends: string[] = [];
  for (const line of lines) {
    ends.push(await expectOneConsistentState(line, answer, ready, recordedAt));
  }
  return ends;
}

/** Whether the line's latest run is the short one a closure starts for a line whose run had completed. */
async function startedByClosure(handle: WorkflowHandle): Promise<boolean> {
  const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
  const data = started?.input?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data).toString()) as { webhook_id: string }).webhook_id.startsWith('closure:') : false;
}

async function expectOneConsistentState(line: string, answer: IntakeAnswer, ready: boolean, recordedAt: Date): Promise<string> {
  const started = answer.accepted.some((accepted) => accepted.order_line_id === line);
  const [ended, assets, objects] = [await stack.outcome(line), await stack.assetsOf(line), await stack.printObjects(line)];
  if (!started) {
    // The cancellation came first and the create saw it: nothing at all exists for the line.
    expect(answer.ignored).toContainEqual({ order_line_id: line, reason: 'order_cancelled' });
    expect([ended, assets, objects]).toEqual([undefined, [], []]);
    return 'not started';
  }
  // The line's status now: cancelled, or withheld when its asset exists (ready previews only).
  const view = await stack.lineView(line);
  expect(ready ? ['cancelled', 'withheld'] : ['cancelled']).toContain(view.status);
  const handle = stack.harness.handle(stack.workflowOf(line));
  const [queried, description] = [await handle.query(statusQuery), await handle.describe()];
  const recordedStatus = description.typedSearchAttributes.get(FulfillmentStatus);
  // Ended by the closure, or (a run that completed persisted before the cancellation was
  // recorded) followed by the closure's short run: the latest run, its status query and search
  // attribute say what the database says.
  expect(ended).toBe(view.status);
  expect(queried).toEqual(view);
  expect(recordedStatus).toBe(view.status);
  // Never persisted after the cancellation was recorded: a run that completed persisted, and a
  // persisted event, come only from a copy recorded before it (its asset's row, written under the
  // order's lock, is older).
  const persistedFirst = (await startedByClosure(handle)) || stack.eventsOf('fulfillment.asset.persisted', line).length > 0;
  if (persistedFirst) {
    expect(view.status).toBe('withheld');
    expect(must(assets[0], 'the persisted asset').created_at.getTime()).toBeLessThanOrEqual(recordedAt.getTime());
  }

  const closure = view.status === 'withheld' ? 'fulfillment.asset.withheld' : 'fulfillment.line.cancelled';
  await stack.harness.posthog.waitFor((e) => e.event === closure && e.properties.order_line_id === line, 5_000);
  expect(stack.eventsOf('fulfillment.asset.withheld', line)).toHaveLength(view.status === 'withheld' ? 1 : 0);
  expect(stack.eventsOf('fulfillment.line.cancelled', line)).toHaveLength(view.status === 'cancelled' ? 1 : 0);
  if (view.status === 'withheld') {
    const asset = must(assets[0], 'the withheld line’s asset');
    expect(assets).toHaveLength(1);
    expect(objects).toEqual([asset.path]);
  } else {
    expect([assets, objects]).toEqual([[], []]);
  }
  return persistedFirst ? 'persisted, then withheld' : view.status;
}

describe('cancellation racing orders/create', () => {
  it(`every line ends in exactly one consistent state, ${String(ROUNDS)} rounds`, async () => {
    const seen = new Map<string, number>();
    for (let first = 0; first < ROUNDS; first += BATCH) {
      const batch = Array.from({ length: BATCH }, (_, index) => {
        const round = first + index;
        return raceOnce(round % 2 === 1, CANCEL_OFFSETS_MS[Math.floor(round / 2) % CANCEL_OFFSETS_MS.length] ?? 0);
      });
      for (const end of (await Promise.all(batch)).flat()) seen.set(end, (seen.get(end) ?? 0) + 1);
    }
    // Which orders of arrival the run met (for the log: the dev server decides, not the test).
    console.log(`line ends over ${String(ROUNDS)} rounds: ${JSON.stringify(Object.fromEntries(seen))}`);
    expect([...seen.values()].reduce((sum, count) => sum + count, 0)).toBe(ROUNDS * 2);
  });
});
