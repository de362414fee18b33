import type { Db } from '../db/connect.js';
import { getOrderLineView } from '../db/repositories/order-lines.js';
import type { LineKey } from '../domain/ids.js';
import { publicLineView, type LineStatusView, type LineView } from '../domain/line-status.js';
import type { RequestLog } from '../logging/request-log.js';
import { ERRORS } from './errors.js';
import { canAccessShop, type Principal } from './principal.js';

/**
 * The line's status view, if the caller may see it; another shop's line is as absent as an
 * unknown one. A redacted line shows only what identifies it, its status and when it changed.
 */
export async function lineView(db: Db, principal: Principal, key: LineKey, log: RequestLog): Promise<LineView> {
  if (!canAccessShop(principal, key.shop_id)) throw ERRORS.lineNotFound();
  const lineKey = { shop_id: key.shop_id, order_line_id: key.order_line_id };
  // One binding per request, with the workflow id when there is one: a child logger is not free.
  let line: LineStatusView | undefined;
  try {
    line = await getOrderLineView(db, lineKey);
  } finally {
    log.bind(line ? { ...lineKey, workflow_id: line.workflow_id } : lineKey);
  }
  if (!line) throw ERRORS.lineNotFound();
  return publicLineView(line);
}
