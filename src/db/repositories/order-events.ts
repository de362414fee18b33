import { sql } from 'kysely';
import type { LineStatus } from '../../domain/line-status.js';
import type { OrderEvent, OrderEventOutcome, OrderRef } from '../../domain/order-events.js';
import type { Db } from '../connect.js';

/** How many of an order's lines are in each status now (committed state): a handful of rows, however large the order. */
export async function orderLineStatusCounts(db: Db, order: OrderRef): Promise<Map<LineStatus, number>> {
  const rows = await db
    .selectFrom('order_lines')
    .select(['status', (eb) => eb.fn.countAll<string>().as('lines')])
    .where('shop_id', '=', order.shop_id)
    .where('order_id', '=', order.order_id)
    .groupBy('status')
    .execute();
  return new Map(rows.map((row) => [row.status, Number(row.lines)]));
}

/**
 * Records the event once: of two lines that both find their order ready, one inserts and the
 * other finds the row. Answers whether its delivery has ended already.
 */
export async function recordOrderEvent(db: Db, event: OrderEvent): Promise<{ finished: boolean }> {
  const inserted = await db
    .insertInto('order_events')
    .values(event)
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .executeTakeFirst();
  if (inserted) return { finished: false };
  const row = await db.selectFrom('order_events').select('outcome').where('event_id', '=', event.event_id).executeTakeFirstOrThrow();
  return { finished: row.outcome !== null };
}

/** An event as its delivery reads it before each attempt: the row, and whether its order was cancelled or redacted since. */
export async function eventToDeliver(db: Db, eventId: string) {
  return db
    .selectFrom('order_events as e')
    .leftJoin('orders as o', (join) => join.onRef('o.shop_id', '=', 'e.shop_id').onRef('o.order_id', '=', 'e.order_id'))
    .selectAll('e')
    .select('o.cancelled_at')
    .select(
      sql<boolean>`exists (select 1 from order_lines l where l.shop_id = e.shop_id and l.order_id = e.order_id and l.status = 'redacted')`.as(
        'redacted',
      ),
    )
    .where('e.event_id', '=', eventId)
    .executeTakeFirst();
}

/** The failure a needs-attention event reports, from the append-only failure log. */
export async function failureOf(db: Db, shopId: string, failureKey: string) {
  return db
    .selectFrom('fulfillment_failures')
    .select(['order_line_id', 'reason_code', 'message', 'recovery_guidance'])
    .where('shop_id', '=', shopId)
    .where('failure_key', '=', failureKey)
    .executeTakeFirst();
}

/** How the delivery ended (last outcome wins: an operator's resend after a give-up records its delivery). */
export async function finishOrderEvent(db: Db, eventId: string, outcome: OrderEventOutcome): Promise<void> {
  await db.updateTable('order_events').set({ outcome, finished_at: new Date() }).where('event_id', '=', eventId).execute();
}
