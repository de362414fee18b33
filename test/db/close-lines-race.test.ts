import type { KyselyPlugin, QueryId } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connect.js';
import { recordLineFailure } from '../../src/db/repositories/failures.js';
import { setLineWorking } from '../../src/db/repositories/order-lines.js';
import { cancelOrder } from '../../src/db/repositories/orders.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const lineOf = (order: string) => ({
  shop_id: 'acme.myshopify.com',
  order_id: order,
  order_line_id: `${order}1`,
  personalization_id: `pers-${order}1`,
});
type Line = ReturnType<typeof lineOf>;

/**
 * The line's own steps that change its row without the order's lock, each in a transaction (as
 * `recordLineFailure` writes), so the test can hold its commit.
 */
const steps: { status: string; order: string; write: (db: Db, line: Line) => Promise<unknown> }[] = [
  {
    status: 'waiting_for_preview',
    order: '500',
    write: (db, line) => db.transaction().execute((trx) => setLineWorking(trx, line, 'waiting_for_preview')),
  },
  {
    status: 'failed',
    order: '600',
    write: (db, line) =>
      recordLineFailure(db, line, {
        failure_key: `${line.order_line_id}:1`,
        attempt: 1,
        reason_code: 'preview_not_found',
        message: 'no preview',
        details: {},
      }),
  },
];

/** A plugin that runs `then` once after the first statement on `order_lines` answers, before its caller goes on. */
function afterLinesStatement(then: () => Promise<void>): KyselyPlugin {
  const onLines = new WeakSet<QueryId>();
  let done = false;
  return {
    transformQuery: ({ node, queryId }) => {
      if (JSON.stringify(node).includes('"order_lines"')) onLines.add(queryId);
      return node;
    },
    transformResult: async ({ queryId, result }) => {
      if (onLines.has(queryId) && !done) {
        done = true;
        await then();
      }
      return result;
    },
  };
}

/**
 * A line's own steps record `waiting_for_preview` and `failed` without the order's lock: a
 * cancellation that read the row `processing` in one statement and changed in the next neither
 * closed it nor signalled its workflow, which then waited for good. Here the step has written
 * its row and commits right after the cancellation's first statement on the order's lines (or,
 * if that statement waits for the step's row lock, 300 ms later).
 */
describe('an order’s cancellation beside a line recording a step of its own', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.close());

  it.each(steps)('closes a line recording $status, whichever status it had when read', async ({ order, write }) => {
    const { db } = database;
    const line = lineOf(order);
    await setLineWorking(db, line, 'processing');

    let commitStep!: () => void;
    const stepMayCommit = new Promise<void>((resolve) => (commitStep = resolve));
    let stepWrote!: () => void;
    const written = new Promise<void>((resolve) => (stepWrote = resolve));
    const step = write(
      db.withPlugin(
        afterLinesStatement(() => {
          stepWrote();
          return stepMayCommit;
        }),
      ),
      line,
    );
    await written;

    const lockWait = setTimeout(commitStep, 300);
    const closure = await cancelOrder(
      db.withPlugin(
        afterLinesStatement(async () => {
          commitStep();
          await step;
        }),
      ),
      line,
      new Date(),
    );
    clearTimeout(lockWait);
    await step;

    expect(closure.working).toEqual([]);
    expect(closure.closed).toEqual([
      expect.objectContaining({
        order_line_id: line.order_line_id,
        workflow_id: fulfillmentWorkflowId(line),
        status: 'cancelled',
        changed: true,
      }),
    ]);
    const row = await db
      .selectFrom('order_lines')
      .select('status')
      .where('order_line_id', '=', line.order_line_id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('cancelled');
  });
});
