import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOrderLines } from '../../src/db/repositories/order-lines.js';
import { cancelOrder, linesBeforeStart, nothingKnown, recordRefund } from '../../src/db/repositories/orders.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SHOP = 'acme.myshopify.com';
const OTHER_SHOP = 'other.myshopify.com';

/** The intake's one read for many order deliveries at once (`groupRead` batches them). */
describe.each(['postgres', 'pglite'] as const)('linesBeforeStart on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    await cancelOrder(database.db, { shop_id: SHOP, order_id: '100' }, new Date());
    await recordRefund(database.db, { shop_id: SHOP, order_id: '200' }, 'refund-1', [
      { order_line_id: '201', quantity: 2, line_quantity: 2 },
      { order_line_id: '202', quantity: 1, line_quantity: 3 },
    ]);
  });
  afterAll(() => database.close());

  it('answers each order at its index: cancelled, refunded in full, open, and the same ids in another shop', async () => {
    const answers = await linesBeforeStart(database.db, [
      { shop_id: SHOP, order_id: '200', line_ids: ['201', '202', '203'] },
      { shop_id: SHOP, order_id: '100', line_ids: ['101', '102'] },
      { shop_id: OTHER_SHOP, order_id: '100', line_ids: ['101'] },
      { shop_id: OTHER_SHOP, order_id: '200', line_ids: ['201'] },
      { shop_id: SHOP, order_id: '300', line_ids: [] },
    ]);
    expect(answers.map((answer) => Object.fromEntries(answer.closed))).toEqual([
      { '201': 'line_refunded' },
      { '101': 'order_cancelled', '102': 'order_cancelled' },
      {},
      {},
      {},
    ]);
  });

  it('counts the refunds of a line named by several deliveries at once (orders/create beside orders/paid) once', async () => {
    // 1 of 3 refunded: three deliveries naming it must not make that 3 of 3.
    const delivery = { shop_id: SHOP, order_id: '200', line_ids: ['202', '201'] };
    const answers = await linesBeforeStart(database.db, [delivery, delivery, delivery]);
    expect(answers.map((answer) => Object.fromEntries(answer.closed))).toEqual([
      { '201': 'line_refunded' },
      { '201': 'line_refunded' },
      { '201': 'line_refunded' },
    ]);
  });

  it('answers the lines an earlier run settled, but not a working one, nor one its order closed', async () => {
    const line = (order_id: string, order_line_id: string) => ({
      shop_id: SHOP,
      order_id,
      order_line_id,
      personalization_id: `p-${order_line_id}`,
    });
    await registerOrderLines(database.db, [line('400', '401'), line('400', '402'), line('400', '403'), line('100', '103')]);
    await database.db
      .updateTable('order_lines')
      .set({ status: 'persisted' })
      .where('shop_id', '=', SHOP)
      .where('order_line_id', 'in', ['401', '103'])
      .execute();
    await database.db
      .updateTable('order_lines')
      .set({ status: 'cancelled' })
      .where('shop_id', '=', SHOP)
      .where('order_line_id', '=', '402')
      .execute();
    const [open, cancelled, elsewhere] = await linesBeforeStart(database.db, [
      { shop_id: SHOP, order_id: '400', line_ids: ['401', '402', '403', '404'] },
      { shop_id: SHOP, order_id: '100', line_ids: ['103'] },
      { shop_id: OTHER_SHOP, order_id: '400', line_ids: ['401'] },
    ]);
    expect(open).toEqual({ closed: new Map(), settled: new Set(['401', '402']) });
    expect(cancelled).toEqual({ closed: new Map([['103', 'order_cancelled']]), settled: new Set() });
    expect(elsewhere).toEqual(nothingKnown());
  });

  it('answers orders without lines without a query', async () => {
    expect(await linesBeforeStart(database.db, [{ shop_id: SHOP, order_id: '100', line_ids: [] }])).toEqual([nothingKnown()]);
  });
});
