import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOrder, closureReasons, recordRefund } from '../../src/db/repositories/orders.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SHOP = 'acme.myshopify.com';
const OTHER_SHOP = 'other.myshopify.com';

/** The intake's one read for many order deliveries at once (`groupRead` batches them). */
describe.each(['postgres', 'pglite'] as const)('closureReasons on %s', (kind) => {
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
    const answers = await closureReasons(database.db, [
      { shop_id: SHOP, order_id: '200', line_ids: ['201', '202', '203'] },
      { shop_id: SHOP, order_id: '100', line_ids: ['101', '102'] },
      { shop_id: OTHER_SHOP, order_id: '100', line_ids: ['101'] },
      { shop_id: OTHER_SHOP, order_id: '200', line_ids: ['201'] },
      { shop_id: SHOP, order_id: '300', line_ids: [] },
    ]);
    expect(answers.map((answer) => Object.fromEntries(answer))).toEqual([
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
    const answers = await closureReasons(database.db, [delivery, delivery, delivery]);
    expect(answers.map((answer) => Object.fromEntries(answer))).toEqual([
      { '201': 'line_refunded' },
      { '201': 'line_refunded' },
      { '201': 'line_refunded' },
    ]);
  });

  it('answers orders without lines without a query', async () => {
    expect(await closureReasons(database.db, [{ shop_id: SHOP, order_id: '100', line_ids: [] }])).toEqual([new Map()]);
  });
});
