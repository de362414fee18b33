import type { Db } from '../db/connect.js';
import { findDataRequest, findRedaction, toRedactionView } from '../db/repositories/privacy.js';
import type { DataRequestView, RedactionView } from '../domain/privacy.js';
import type { RequestLog } from '../logging/request-log.js';
import { ERRORS } from './errors.js';
import { canAccessShop, type Principal } from './principal.js';

/** A recorded data request's report, for an operator or the shop's own merchant token; 404 until recorded. */
export async function dataRequestView(
  db: Db,
  principal: Principal,
  key: { shop_id: string; data_request_id: string },
  log: RequestLog,
): Promise<DataRequestView> {
  log.bind(key);
  if (!canAccessShop(principal, key.shop_id)) throw ERRORS.notFound('Data request not found');
  const view = await findDataRequest(db, key.shop_id, key.data_request_id);
  if (!view) throw ERRORS.notFound('Data request not found');
  return view;
}

/** A redaction's progress and counts: operators only, since a merchant's own erasure is Shopify's to report. */
export async function redactionView(
  db: Db,
  principal: Principal,
  key: { shop_id: string; redaction_id: string },
  log: RequestLog,
): Promise<RedactionView> {
  log.bind(key);
  if (principal.scope !== '*') throw ERRORS.forbidden('Redactions are for operator tokens (scope *)');
  const row = await findRedaction(db, key.shop_id, key.redaction_id);
  if (!row) throw ERRORS.notFound('Redaction not found');
  return toRedactionView(row);
}
