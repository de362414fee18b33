// The order around its lines, and the one lock that keeps a closure and a line's progress from
// missing each other: the order row's. Every write that takes it is here (over 200 lines on
// purpose), so the protocol reads in one place: the line's start, its asset's recording, the
// cancellation, the refund and the close signal's own step.
import { sql, type Transaction } from 'kysely';
import type { LineKey } from '../../domain/ids.js';
import { isClosedStatus, SETTLED_STATUSES, type ClosedStatus, type ClosureReason, type LineStatus } from '../../domain/line-status.js';
import type { Db } from '../connect.js';
import type { Database } from '../schema.js';
import { orderLineValues, setLineWorking, type OrderLineIdentity } from './order-lines.js';

type Trx = Transaction<Database>;

export interface OrderKey {
  shop_id: string;
  order_id: string;
}

/** A line the closure reached: who it is, its status now, and when its row last changed. */
export interface ClosedLine extends OrderLineIdentity {
  workflow_id: string;
  status: ClosedStatus;
  /** The closure changed the row now (false: it was closed before, e.g. a redelivery). */
  changed: boolean;
  updated_at: string;
}

/**
 * A line an order's closure found `processing`: it may be in the middle of its copy, which only
 * its workflow knows, so the closure leaves it to the workflow's `close` signal (it ends
 * `cancelled` if it was not copying, `withheld` once its copy is recorded) rather than call it
 * `cancelled` for a moment before an asset exists.
 */
export interface WorkingLine extends OrderLineIdentity {
  workflow_id: string;
}

/** What an order's closure reached: the lines closed (or found closed), and those left to their workflows. */
export interface Closure {
  closed: ClosedLine[];
  working: WorkingLine[];
}

/** One line item of a refund: how much of it was refunded, out of how much the line holds. */
export interface RefundedItem {
  order_line_id: string;
  quantity: number;
  line_quantity: number;
}

/**
 * Takes the order row's lock (creating the row) and says whether the order is cancelled. Every
 * write that could miss a closure, or be missed by one, runs after this in its transaction: the
 * line's start, the asset's recording, the cancellation and the refund.
 */
async function lockOrder(trx: Trx, order: OrderKey): Promise<{ cancelled: boolean; redacted: boolean }> {
  const row = await trx
    .insertInto('orders')
    .values({ shop_id: order.shop_id, order_id: order.order_id })
    .onConflict((oc) => oc.columns(['shop_id', 'order_id']).doUpdateSet({ order_id: (eb) => eb.ref('excluded.order_id') }))
    .returning(['cancelled_at', 'redacted_at'])
    .executeTakeFirstOrThrow();
  return { cancelled: row.cancelled_at !== null, redacted: row.redacted_at !== null };
}

/**
 * Of a line's `order_refunds` rows, grouped: refunds cover it in full (the refunded quantity
 * reaches the line's quantity). The one rule, for the line's own checks and the intake's read.
 */
const REFUNDED_IN_FULL = sql<boolean>`sum(quantity) >= max(line_quantity) and max(line_quantity) > 0`;

/** The lines of `lineIds` that refunds cover in full. */
const refundedInFullQuery = (trx: Trx | Db, shopId: string, lineIds: readonly string[]) =>
  trx
    .selectFrom('order_refunds')
    .select('order_line_id')
    .where('shop_id', '=', shopId)
    .where('order_line_id', 'in', lineIds)
    .groupBy('order_line_id')
    .having(REFUNDED_IN_FULL);

async function refundedInFull(trx: Trx | Db, shopId: string, lineIds: readonly string[]): Promise<Set<string>> {
  if (lineIds.length === 0) return new Set();
  const rows = await refundedInFullQuery(trx, shopId, lineIds).execute();
  return new Set(rows.map((row) => row.order_line_id));
}

/** An order delivery's personalized lines, as the intake asks what is known of them before it starts them. */
export interface OrderLines extends OrderKey {
  line_ids: readonly string[];
}

/** What the database knows of a delivery's lines before they start. */
export interface LinesBeforeStart {
  /** Closed before the delivery came, and why: they start nothing. */
  closed: Map<string, ClosureReason>;
  /**
   * Settled by an earlier run (persisted, or closed by an operator): a late duplicate, after
   * Temporal has forgotten the run, would only find that again.
   */
  settled: Set<string>;
}

/** What a delivery's lines start from when the database says nothing of them (or could not be read). */
export const nothingKnown = (): LinesBeforeStart => ({ closed: new Map(), settled: new Set() });

/**
 * What is known of these orders' lines, each order's answer at its index (without locking:
 * what the intake reads to answer `ignored` or `duplicate`; the line's own start checks again
 * under the lock). One round trip for them all: the orders' cancellations, the lines refunded
 * in full and the lines settled. The keys go as arrays (`unnest`), so the statement's text is
 * the same for any number of orders and lines: nothing to build per delivery, and no expression
 * per key (an order of 12,000 lines would exceed Postgres's stack depth).
 */
export async function linesBeforeStart(db: Db, orders: readonly OrderLines[]): Promise<LinesBeforeStart[]> {
  if (orders.every((order) => order.line_ids.length === 0)) return orders.map(nothingKnown);
  // Distinct keys: a line named twice would count its refunds twice in the sums.
  const orderKeys = distinctPairs(orders.map((order) => [order.shop_id, order.order_id] as const));
  const lineKeys = distinctPairs(orders.flatMap((order) => order.line_ids.map((id) => [order.shop_id, id] as const)));
  const { rows } = await sql<{ shop_id: string; id: string; reason: ClosureReason | 'settled' }>`
    select o.shop_id, o.order_id as id, case when o.redacted_at is not null then 'redacted' else 'order_cancelled' end as reason
      from orders o join unnest(${orderKeys.shops}::text[], ${orderKeys.ids}::text[]) as k(shop_id, order_id)
        on o.shop_id = k.shop_id and o.order_id = k.order_id
     where o.cancelled_at is not null or o.redacted_at is not null
    union all
    select r.shop_id, r.order_line_id, 'line_refunded'
      from order_refunds r join unnest(${lineKeys.shops}::text[], ${lineKeys.ids}::text[]) as k(shop_id, order_line_id)
        on r.shop_id = k.shop_id and r.order_line_id = k.order_line_id
     group by r.shop_id, r.order_line_id
    having ${REFUNDED_IN_FULL}
    union all
    select l.shop_id, l.order_line_id, 'settled'
      from order_lines l join unnest(${lineKeys.shops}::text[], ${lineKeys.ids}::text[]) as k(shop_id, order_line_id)
        on l.shop_id = k.shop_id and l.order_line_id = k.order_line_id
     where l.status = any(${[...SETTLED_STATUSES]}::text[])`.execute(db);
  const known = new Set(rows.map((row) => `${row.reason}\u0000${row.shop_id}\u0000${row.id}`));
  const has = (reason: ClosureReason | 'settled', shopId: string, id: string) => known.has(`${reason}\u0000${shopId}\u0000${id}`);
  const closedLines = (order: OrderLines): Map<string, ClosureReason> => {
    for (const reason of ['redacted', 'order_cancelled'] as const) {
      if (has(reason, order.shop_id, order.order_id)) return new Map(order.line_ids.map((id) => [id, reason]));
    }
    return new Map(order.line_ids.filter((id) => has('line_refunded', order.shop_id, id)).map((id) => [id, 'line_refunded']));
  };
  return orders.map((order) => {
    const closed = closedLines(order);
    return { closed, settled: new Set(order.line_ids.filter((id) => !closed.has(id) && has('settled', order.shop_id, id))) };
  });
}

/** `(shop_id, id)` pairs without repeats, as the two arrays an `unnest` takes. */
function distinctPairs(pairs: readonly (readonly [string, string])[]): { shops: string[]; ids: string[] } {
  const seen = new Set<string>();
  const shops: string[] = [];
  const ids: string[] = [];
  for (const [shopId, id] of pairs) {
    const key = `${shopId}\u0000${id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    shops.push(shopId);
    ids.push(id);
  }
  return { shops, ids };
}

/** Under the order's lock: why the line is closed, or null when it is open. */
async function lineClosure(trx: Trx, line: OrderLineIdentity): Promise<ClosureReason | null> {
  const order = await lockOrder(trx, line);
  if (order.redacted) return 'redacted';
  if (order.cancelled) return 'order_cancelled';
  return (await refundedInFull(trx, line.shop_id, [line.order_line_id])).has(line.order_line_id) ? 'line_refunded' : null;
}

/** Closing a line: a persisted one is withheld, any other open one cancelled, a closed one stays. */
const closedStatus = sql<ClosedStatus>`case when order_lines.status = 'persisted' then 'withheld' else 'cancelled' end`;

/**
 * Closes lines of one shop (all of one order, or the ones named) and answers every closed line
 * among them; with `leaveWorking` (an order's closure, not the line's own workflow), `processing`
 * lines are left as they are and answered as working. The rows are locked and read first: a
 * line's own steps record `waiting_for_preview` and `failed` without the order's lock, and a row
 * one statement read `processing` and the next `failed` would be neither closed nor signalled.
 */
async function closeLines(
  trx: Trx,
  shopId: string,
  which: { order_id: string } | { order_line_ids: readonly string[] },
  leaveWorking = false,
): Promise<Closure> {
  if ('order_line_ids' in which && which.order_line_ids.length === 0) return { closed: [], working: [] };
  const rows = await trx
    .selectFrom('order_lines')
    .select(['order_id', 'order_line_id', 'personalization_id', 'workflow_id', 'status', 'updated_at'])
    .where('shop_id', '=', shopId)
    .where((eb) =>
      'order_id' in which
        ? eb('order_id', '=', which.order_id)
        : // One array parameter: an order can name more lines than a statement's parameters.
          eb('order_line_id', '=', eb.fn.any(eb.val(which.order_line_ids))),
    )
    // A redacted line stays redacted: it has nothing left to close.
    .where('status', '!=', 'redacted')
    .orderBy('order_line_id')
    .forUpdate()
    .execute();
  const working = (status: LineStatus) => leaveWorking && status === 'processing';
  const toClose = rows.filter((row) => !isClosedStatus(row.status) && !working(row.status)).map((row) => row.order_line_id);
  const now = new Date();
  // The status each line closed now took (`closedStatus`), by line.
  const closedNow = new Map<string, ClosedStatus>();
  if (toClose.length > 0) {
    const updated = await trx
      .updateTable('order_lines')
      .set({ status: closedStatus, reason_code: null, reason_message: null, recovery_guidance: null, updated_at: now })
      .where('shop_id', '=', shopId)
      .where((eb) => eb('order_line_id', '=', eb.fn.any(eb.val(toClose))))
      .returning(['order_line_id', 'status'])
      .execute();
    for (const row of updated) if (isClosedStatus(row.status)) closedNow.set(row.order_line_id, row.status);
  }
  const identity = (row: (typeof rows)[number]) => ({
    shop_id: shopId,
    order_id: row.order_id,
    order_line_id: row.order_line_id,
    personalization_id: row.personalization_id,
    workflow_id: row.workflow_id,
  });
  const closed: ClosedLine[] = [];
  for (const row of rows) {
    const status = closedNow.get(row.order_line_id) ?? row.status;
    if (!isClosedStatus(status)) continue;
    const changed = closedNow.has(row.order_line_id);
    closed.push({ ...identity(row), status, changed, updated_at: (changed ? now : row.updated_at).toISOString() });
  }
  return {
    closed,
    working: rows.filter((row) => working(row.status)).map(identity),
  };
}

/**
 * `orders/cancelled`: records the cancellation (once: a cancelled order is never un-cancelled)
 * and closes the order's lines known so far, in one transaction under the order's lock, but for
 * working ones (see `WorkingLine`). A line not known yet finds the cancellation when it starts.
 */
export async function cancelOrder(db: Db, order: OrderKey, cancelledAt: Date): Promise<Closure> {
  return db.transaction().execute(async (trx) => {
    await lockOrder(trx, order);
    await trx
      .updateTable('orders')
      .set({ cancelled_at: cancelledAt, updated_at: new Date() })
      .where('shop_id', '=', order.shop_id)
      .where('order_id', '=', order.order_id)
      .where('cancelled_at', 'is', null)
      .execute();
    return closeLines(trx, order.shop_id, { order_id: order.order_id }, true);
  });
}

/**
 * `refunds/create`: records the refund's line items (a redelivery adds nothing) and closes the
 * lines the order's refunds now cover in full, under the order's lock, but for working ones (see
 * `WorkingLine`). Answers the closed and working lines among those this refund names.
 */
export async function recordRefund(db: Db, order: OrderKey, refundId: string, items: readonly RefundedItem[]): Promise<Closure> {
  return db.transaction().execute(async (trx) => {
    await lockOrder(trx, order);
    if (items.length > 0) {
      await trx
        .insertInto('order_refunds')
        .values(items.map((item) => ({ shop_id: order.shop_id, order_id: order.order_id, refund_id: refundId, ...item })))
        .onConflict((oc) => oc.columns(['shop_id', 'refund_id', 'order_line_id']).doNothing())
        .execute();
    }
    const full = await refundedInFull(
      trx,
      order.shop_id,
      items.map((item) => item.order_line_id),
    );
    return closeLines(trx, order.shop_id, { order_line_ids: [...full] }, true);
  });
}

/** What a line's start found: it is open (its row now working), or closed, or persisted before, or its order erased. */
export type LineOpening =
  | { state: 'open'; line_updated_at: string | null }
  | { state: 'redacted'; line_updated_at: string }
  | { state: 'persisted' }
  | { state: 'closed'; status: ClosedStatus; reason: ClosureReason | null; changed: boolean; line_updated_at: string };

/**
 * A line's start, under its order's lock: a line of a cancelled order or refunded in full is
 * recorded closed (and never works), any other one is opened for work unless it is settled.
 */
export async function openLineUnderOrder(db: Db, line: OrderLineIdentity): Promise<LineOpening> {
  return db.transaction().execute(async (trx) => {
    const reason = await lineClosure(trx, line);
    const now = new Date();
    if (reason === 'redacted') return { state: 'redacted', line_updated_at: await recordRedactedLine(trx, line, now) };
    if (reason) {
      const inserted = await trx
        .insertInto('order_lines')
        .values({ ...orderLineValues(line), status: 'cancelled', updated_at: now })
        .onConflict((oc) => oc.columns(['shop_id', 'order_line_id']).doNothing())
        .returning('order_line_id')
        .executeTakeFirst();
      const [closed] = (await closeLines(trx, line.shop_id, { order_line_ids: [line.order_line_id] })).closed;
      if (!closed) throw new Error(`line ${line.order_line_id} neither closed nor found`);
      const changed = inserted !== undefined || closed.changed;
      return { state: 'closed', status: closed.status, reason, changed, line_updated_at: closed.updated_at };
    }
    const openedAt = await setLineWorking(trx, line, 'processing');
    if (openedAt !== null) return { state: 'open', line_updated_at: openedAt };
    const row = await lineRow(trx, line);
    if (row.status === 'persisted') return { state: 'persisted' };
    return {
      state: 'closed',
      status: row.status as ClosedStatus,
      reason: null,
      changed: false,
      line_updated_at: row.updated_at.toISOString(),
    };
  });
}

/**
 * Closes one line on its workflow's `close` signal (an operator's, or the order's closure that
 * reached it): under the order's lock, so it cannot cross the asset's recording.
 */
export async function closeLine(db: Db, line: OrderLineIdentity): Promise<ClosedLine> {
  return db.transaction().execute(async (trx) => {
    await lockOrder(trx, line);
    const [closed] = (await closeLines(trx, line.shop_id, { order_line_ids: [line.order_line_id] })).closed;
    if (!closed) throw new Error(`line ${line.order_line_id} not found to close`);
    return closed;
  });
}

/**
 * Under the order's lock: the status an asset being recorded now gives its line, `withheld`
 * when the order was closed first (or the line closed by hand), `persisted` otherwise.
 */
export async function recordingStatus(trx: Trx, line: OrderLineIdentity): Promise<'persisted' | 'withheld' | 'redacted'> {
  const order = await lockOrder(trx, line);
  // Read after the lock, so a closure committed meanwhile is seen; one statement for both.
  const { status, refunded } = await trx
    .selectNoFrom((eb) => [
      eb
        .selectFrom('order_lines')
        .select('status')
        .where('shop_id', '=', line.shop_id)
        .where('order_line_id', '=', line.order_line_id)
        .as('status'),
      eb.exists(refundedInFullQuery(trx, line.shop_id, [line.order_line_id])).as('refunded'),
    ])
    .executeTakeFirstOrThrow();
  // Erased already: a copy that finishes after its workflow was stopped records nothing.
  if (status === 'redacted') return 'redacted';
  if (order.redacted || order.cancelled || refunded) return 'withheld';
  return status !== null && isClosedStatus(status) ? 'withheld' : 'persisted';
}

/**
 * A line of an erased order that starts anyway (its delivery raced the redaction past the
 * intake's check): recorded `redacted`, its personalization id not kept, under the order's lock.
 */
async function recordRedactedLine(trx: Trx, line: OrderLineIdentity, now: Date): Promise<string> {
  const redacted = {
    status: 'redacted' as const,
    personalization_id: '',
    reason_code: null,
    reason_message: null,
    recovery_guidance: null,
  };
  const row = await trx
    .insertInto('order_lines')
    .values({ ...orderLineValues(line), ...redacted, updated_at: now })
    .onConflict((oc) =>
      oc
        .columns(['shop_id', 'order_line_id'])
        .doUpdateSet({ ...redacted, updated_at: now })
        .where('order_lines.status', '!=', 'redacted'),
    )
    .returning('updated_at')
    .executeTakeFirst();
  return (row?.updated_at ?? now).toISOString();
}

async function lineRow(trx: Trx, key: LineKey) {
  return trx
    .selectFrom('order_lines')
    .select(['status', 'updated_at'])
    .where('shop_id', '=', key.shop_id)
    .where('order_line_id', '=', key.order_line_id)
    .executeTakeFirstOrThrow();
}
