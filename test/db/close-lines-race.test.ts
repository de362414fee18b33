import type { KyselyPlugin, QueryId } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLineWorking } from '../../src/db/repositories/order-lines.js';
import { cancelOrder } from '../../src/db/repositories/orders.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const line = { shop_id: 'acme.myshopify.com', order_id: '500', order_line_id: '501', personalization_id: 'pers-501' };

/**
 * A line's own step records `waiting_for_preview` without the order's lock (the cancellation race
 * test found it): a cancellation that read the row `processing` in one statement and
 * `waiting_for_preview` in the next neither closed it nor signalled its workflow, which then
 * waited for its preview for good. Here the step commits right after the cancellation's first
 * statement on the order's lines (or, if that statement waits for the step's row lock, 300 ms
 * later).
 */
describe('an order’s cancellation beside a line recording that it waits for its preview', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.close());

  it('closes the line, whichever status it had when read', async () => {
    const { db } = database;
    await setLineWorking(db, line, 'processing');

    let commitStep!: () => void;
    const stepMayCommit = new Promise<void>((resolve) => (commitStep = resolve));
    let stepWrote!: () => void;
    const written = new Promise<void>((resolve) => (stepWrote = resolve));
    const step = db.transaction().execute(async (trx) => {
      await setLineWorking(trx, line, 'waiting_for_preview');
      stepWrote();
      await stepMayCommit;
    });
    await written;

    const onLines = new WeakSet<QueryId>();
    const commitAfterFirstRead: KyselyPlugin = {
      transformQuery: ({ node, queryId }) => {
        if (JSON.stringify(node).includes('"order_lines"')) onLines.add(queryId);
        return node;
      },
      transformResult: async ({ queryId, result }) => {
        if (onLines.has(queryId)) {
          commitStep();
          await step;
        }
        return result;
      },
    };
    const lockWait = setTimeout(commitStep, 300);
    const closure = await cancelOrder(db.withPlugin(commitAfterFirstRead), line, new Date());
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
