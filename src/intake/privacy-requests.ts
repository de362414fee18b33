import { createHash } from 'node:crypto';
import { z } from 'zod';
import { markOrdersRedacted, recordDataRequest, recordRedaction, shopRedactionKey, type NewRedaction } from '../db/repositories/privacy.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ServiceDeps } from '../services/deps.js';
import { TELEMETRY_EVENTS } from '../telemetry/events.js';
import { startRedaction } from '../temporal/start-redaction.js';
import { parseCustomerRedact, parseDataRequest, parseShopRedact } from './privacy-payloads.js';
import { withTemporalDeadline } from './temporal-deadline.js';

/** Shopify's mandatory privacy topics. */
const PRIVACY_TOPICS = ['customers/data_request', 'customers/redact', 'shop/redact'] as const;
export type PrivacyTopic = (typeof PRIVACY_TOPICS)[number];
export const isPrivacyTopic = (topic: string): topic is PrivacyTopic => (PRIVACY_TOPICS as readonly string[]).includes(topic);

/** What a data request answers: its id is Shopify's `data_request.id`, the one the data-request route takes. */
export const dataRequestAnswerSchema = z.object({ data_request_id: z.string() });
/** What a redaction answers: the same id for every delivery of the same request. */
export const redactionAnswerSchema = z.object({ redaction_id: z.string() });
export type PrivacyAnswer = z.infer<typeof dataRequestAnswerSchema> | z.infer<typeof redactionAnswerSchema>;

export type PrivacyDeps = Pick<ServiceDeps, 'config' | 'db' | 'temporal' | 'telemetry' | 'temporalTimeoutMs'>;

/**
 * `customers/data_request` records a report of what printready holds for the orders named;
 * `customers/redact` and `shop/redact` record the redaction and start `RedactShopData`. Each
 * answers once that is durable: a database or Temporal away answers 503 and Shopify delivers
 * again, which records nothing twice.
 */
export function createPrivacyRequests({ config, db, temporal, telemetry, temporalTimeoutMs }: PrivacyDeps) {
  async function dataRequest(shopId: string, body: Buffer, receivedAt: string, log: RequestLog): Promise<PrivacyAnswer> {
    const request = parseDataRequest(body, shopId);
    const data_request_id = request.data_request.id;
    const orders = [...new Set(request.orders_requested)];
    // A database away answers 503 not_ready (the error handler maps it) for Shopify to deliver again.
    await recordDataRequest(db, {
      shop_id: shopId,
      data_request_id,
      customer_id: request.customer.id,
      received_at: new Date(receivedAt),
      order_ids: orders,
    });
    await telemetry.capture({
      name: TELEMETRY_EVENTS.dataRequestRecorded,
      idempotency_key: `${shopId}:${data_request_id}:data_request`,
      properties: { shop_id: shopId, orders: orders.length },
    });
    log.logger.info({ data_request_id, orders: orders.length }, 'data request recorded');
    return { data_request_id };
  }

  async function redact(redaction: NewRedaction, log: RequestLog): Promise<PrivacyAnswer> {
    const row = await recordRedaction(db, redaction);
    // In force once answered: an `orders/create` of these orders right after the 200 starts
    // nothing, whether or not the workflow has run. A shop's orders, which may be many, are
    // marked by the workflow's first step; no order of an uninstalled shop comes anyway.
    if (row.kind === 'customer') await markOrdersRedacted(db, row);
    const input = {
      redaction_id: row.redaction_id,
      shop_id: row.shop_id,
      kind: row.kind,
      preview_bucket: config.PREVIEW_BUCKET,
      print_bucket: config.PRINT_BUCKET,
    };
    const workflowId = await withTemporalDeadline(temporal.client, temporalTimeoutMs, () =>
      startRedaction(temporal.client, temporal.taskQueue, input),
    );
    log.logger.info({ redaction_id: row.redaction_id, kind: row.kind, workflow_id: workflowId }, 'redaction started');
    return { redaction_id: row.redaction_id };
  }

  async function receive(topic: PrivacyTopic, shopId: string, body: Buffer, receivedAt: string, log: RequestLog): Promise<PrivacyAnswer> {
    if (topic === 'customers/data_request') return dataRequest(shopId, body, receivedAt, log);
    const received_at = new Date(receivedAt);
    if (topic === 'shop/redact') {
      parseShopRedact(body, shopId);
      const request_key = await shopRedactionKey(db, shopId);
      return redact({ shop_id: shopId, kind: 'shop', request_key, order_ids: [], received_at }, log);
    }
    const request = parseCustomerRedact(body, shopId);
    const orderIds = [...new Set(request.orders_to_redact)].sort();
    // Hashed: a customer's order list can be long, and the key is indexed.
    const orders = createHash('sha256').update(orderIds.join(',')).digest('hex');
    return redact(
      { shop_id: shopId, kind: 'customer', request_key: `customer:${request.customer.id}:${orders}`, order_ids: orderIds, received_at },
      log,
    );
  }

  return { receive };
}
