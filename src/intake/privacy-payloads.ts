import { z } from 'zod';
import { ERRORS } from '../services/errors.js';
import { bodyIdSchema, parseWebhookBody } from './webhook-body.js';

// The bodies of Shopify's three privacy topics (read by `parseWebhookBody`). Only what printready needs is kept: the customer's email and phone are not declared,
// so parsing drops them before anything is recorded or logged.

const idSchema = bodyIdSchema;

/** A customer can have many orders; this is far beyond any real request and bounds the work a body can ask for. */
const MAX_ORDERS = 10_000;

const shopSchema = z.object({ shop_id: idSchema, shop_domain: z.string().max(255) });

const dataRequestSchema = shopSchema.extend({
  orders_requested: z.array(idSchema).max(MAX_ORDERS),
  customer: z.object({ id: idSchema }),
  data_request: z.object({ id: idSchema }),
});

const customerRedactSchema = shopSchema.extend({
  customer: z.object({ id: idSchema }),
  orders_to_redact: z.array(idSchema).max(MAX_ORDERS),
});

export type DataRequestPayload = z.infer<typeof dataRequestSchema>;
export type CustomerRedactPayload = z.infer<typeof customerRedactSchema>;
export type ShopRedactPayload = z.infer<typeof shopSchema>;

/**
 * Parses a privacy body for the shop its header names. `shop_domain` is inside what Shopify
 * signed and the header is not: a body replayed under another shop's header is refused, so one
 * shop's redaction can never be pointed at another.
 */
function parsePrivacyBody<T extends ShopRedactPayload>(rawBody: Buffer, schema: z.ZodType<T>, what: string, shopId: string): T {
  const parsed = parseWebhookBody(rawBody, schema, what);
  if (parsed.shop_domain !== shopId) throw ERRORS.invalidPayload('shop_domain does not match X-Shopify-Shop-Domain');
  return parsed;
}

export const parseDataRequest = (rawBody: Buffer, shopId: string): DataRequestPayload =>
  parsePrivacyBody(rawBody, dataRequestSchema, 'a customers/data_request', shopId);

export const parseCustomerRedact = (rawBody: Buffer, shopId: string): CustomerRedactPayload =>
  parsePrivacyBody(rawBody, customerRedactSchema, 'a customers/redact', shopId);

export const parseShopRedact = (rawBody: Buffer, shopId: string): ShopRedactPayload =>
  parsePrivacyBody(rawBody, shopSchema, 'a shop/redact', shopId);
