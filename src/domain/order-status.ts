import { z } from 'zod';
import type { LineStatus } from './line-status.js';

export const ORDER_STATUSES = ['in_progress', 'needs_attention', 'ready_for_print', 'closed', 'redacted'] as const;
export const orderStatusSchema = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/**
 * The order's status, from the statuses its personalized lines are in (which ones occur, not how
 * often), first match wins:
 *
 * 1. `redacted`: a line was erased; a redaction erases whole orders, so the rest follows.
 * 2. `needs_attention`: a line failed and waits for an operator, whatever the others do.
 * 3. `in_progress`: a line is still processing or waiting for its preview.
 * 4. `ready_for_print`: every line is settled and at least one is persisted. Cancelled and
 *    withheld lines (refunded in full) are simply not printed: the supplier prints the rest.
 * 5. `closed`: only cancelled or withheld lines, nothing left to print.
 */
export function orderStatus(lineStatuses: Iterable<LineStatus>): OrderStatus {
  const present = new Set(lineStatuses);
  if (present.size === 0) throw new RangeError('an order has at least one personalized line');
  if (present.has('redacted')) return 'redacted';
  if (present.has('failed')) return 'needs_attention';
  if (present.has('processing') || present.has('waiting_for_preview')) return 'in_progress';
  return present.has('persisted') ? 'ready_for_print' : 'closed';
}
