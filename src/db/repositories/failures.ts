import type { LineFailure } from '../../domain/errors.js';
import { SETTLED_STATUSES } from '../../domain/line-status.js';
import { recoveryGuidance } from '../../domain/reasons.js';
import type { Db } from '../connect.js';
import type { FailureRow } from '../schema.js';
import { changedAt, orderLineValues, type OrderLineIdentity } from './order-lines.js';

export interface FailureRecord extends LineFailure {
  /** Unique per failed attempt, so a retried activity appends nothing twice. */
  failure_key: string;
  attempt: number;
}

/**
 * Appends to the failure log and marks the line failed, atomically. Says when the line's row
 * changed (null when it was persisted or closed already and stays so).
 */
export async function recordLineFailure(db: Db, line: OrderLineIdentity, failure: FailureRecord): Promise<string | null> {
  const guidance = recoveryGuidance(failure.reason_code);
  const reason = { reason_code: failure.reason_code, reason_message: failure.message, recovery_guidance: guidance };
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const row = await trx
      .insertInto('order_lines')
      .values({ ...orderLineValues(line), status: 'failed', ...reason, updated_at: now })
      .onConflict((oc) =>
        oc
          .columns(['shop_id', 'order_line_id'])
          .doUpdateSet({ status: 'failed', ...reason, updated_at: now })
          .where('order_lines.status', 'not in', SETTLED_STATUSES),
      )
      .returning('updated_at')
      .executeTakeFirst();
    await trx
      .insertInto('fulfillment_failures')
      .values({
        shop_id: line.shop_id,
        order_line_id: line.order_line_id,
        workflow_id: orderLineValues(line).workflow_id,
        failure_key: failure.failure_key,
        attempt: failure.attempt,
        reason_code: failure.reason_code,
        message: failure.message,
        recovery_guidance: guidance,
        details: JSON.stringify(failure.details),
      })
      .onConflict((oc) => oc.columns(['shop_id', 'failure_key']).doNothing())
      .execute();
    return changedAt(row);
  });
}

export async function listLineFailures(db: Db, shopId: string, orderLineId: string): Promise<FailureRow[]> {
  return db
    .selectFrom('fulfillment_failures')
    .selectAll()
    .where('shop_id', '=', shopId)
    .where('order_line_id', '=', orderLineId)
    .orderBy('created_at')
    .orderBy('attempt')
    .execute();
}
