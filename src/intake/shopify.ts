import { createHmac, timingSafeEqual } from 'node:crypto';
import { isLosslessNumber, parse } from 'lossless-json';
import { z } from 'zod';
import { linePersonalizationId, shopifyIdSchema } from '../domain/ids.js';
import { closureReasonSchema } from '../domain/line-status.js';
import { ERRORS } from '../services/errors.js';

/** The topics that start fulfillment; every other topic is acknowledged and ignored. */
export const ORDER_TOPICS = new Set(['orders/create', 'orders/paid']);

/** Real order payloads are tens of KiB; this leaves room for a very large order. */
export const WEBHOOK_BODY_LIMIT = 2 * 1024 * 1024;

/** The `X-Shopify-Hmac-Sha256` Shopify sends with a body: base64(HMAC-SHA256(secret, raw body)). */
export const signShopifyBody = (rawBody: Buffer | string, secret: string): string =>
  createHmac('sha256', secret).update(rawBody).digest('base64');

/** base64 of a SHA-256 digest's 32 bytes: 43 characters and one `=` of padding. */
const HMAC_SHAPE = /^[A-Za-z0-9+/]{43}=$/;

/** Whether `X-Shopify-Hmac-Sha256` could be a signature at all: checked before the body is read. */
export const hasShopifyHmacShape = (header: string | string[] | undefined): boolean =>
  typeof header === 'string' && HMAC_SHAPE.test(header.trim());

/**
 * base64(HMAC-SHA256(secret, raw body)) against `X-Shopify-Hmac-Sha256`, for every configured
 * secret (rotation), in constant time: base64 strings of the same length are compared with
 * `timingSafeEqual`, and every secret is tried whatever the outcome.
 */
export function verifyShopifyHmac(rawBody: Buffer, header: string | undefined, secrets: readonly string[]): boolean {
  if (!header || secrets.length === 0) return false;
  const given = Buffer.from(header.trim(), 'utf8');
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signShopifyBody(rawBody, secret), 'utf8');
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}

/** A line item that starts a workflow. */
export interface PersonalizedLine {
  order_line_id: string;
  personalization_id: string;
}

/**
 * Why a line item starts nothing: it is not personalized, has no usable id, or repeats one; or
 * its order was cancelled, or the line refunded in full, before this delivery came.
 */
export const ignoredReasonSchema = z.enum([
  'not_personalized',
  'invalid_line_item_id',
  'duplicate_line_item',
  ...closureReasonSchema.options,
]);

export interface IgnoredLine {
  order_line_id: string;
  reason: z.infer<typeof ignoredReasonSchema>;
}

export interface ParsedOrder {
  order_id: string;
  /** Set when Shopify had cancelled the order already (created cancelled, or its create came late): its lines start nothing. */
  cancelled_at?: Date;
  personalized: PersonalizedLine[];
  ignored: IgnoredLine[];
}

/** `cancelled_at`: null on an open order, an ISO time with offset on a cancelled one. */
const cancelledAtSchema = z.union([z.null(), z.undefined(), z.iso.datetime({ offset: true })]);

const PERSONALIZATION_KEYS = new Set(['personalization_id', '_personalization_id']);

/**
 * A line item as either shape of an order carries it (a webhook's `line_items`, the Admin API's
 * `lineItems`): its id, undefined when unusable (with what was sent, for the answer), and its
 * properties as `{ name, value }` pairs.
 */
export interface LineItemFields {
  order_line_id: string | undefined;
  sent_id: string;
  properties: unknown;
}

/**
 * Reads an order webhook's body without losing ids above 2^53 (every JSON number stays its
 * decimal text); only a body that is not an order at all (or whose `cancelled_at` is neither
 * null nor a time) is an error.
 */
export function parseOrderPayload(rawBody: Buffer): ParsedOrder {
  let order: unknown;
  try {
    order = parse(rawBody.toString('utf8'));
  } catch {
    throw ERRORS.invalidPayload('The body is not valid JSON');
  }
  if (!isRecord(order)) throw ERRORS.invalidPayload('The body is not a JSON object');
  const orderId = shopifyId(order.id) ?? gidId(order.admin_graphql_api_id, 'Order');
  if (!orderId) throw ERRORS.invalidPayload('The order has no valid id');
  // Not a time and not null: whether the order was cancelled cannot be told, so nothing may start.
  const cancelledAt = cancelledAtSchema.safeParse(order.cancelled_at);
  if (!cancelledAt.success) throw ERRORS.invalidPayload('cancelled_at is neither null nor a time');
  const items = order.line_items ?? [];
  if (!Array.isArray(items)) throw ERRORS.invalidPayload('line_items is not an array');
  const sorted = sortLineItems(
    orderId,
    items.map((item): LineItemFields => {
      if (!isRecord(item)) return { order_line_id: undefined, sent_id: '', properties: undefined };
      return {
        order_line_id: shopifyId(item.id) ?? gidId(item.admin_graphql_api_id, 'LineItem'),
        sent_id: printable(item.id),
        properties: item.properties,
      };
    }),
  );
  return cancelledAt.data ? { ...sorted, cancelled_at: new Date(cancelledAt.data) } : sorted;
}

/**
 * The one decision of what an order's line items start, whichever way the order came: sorted
 * into personalized and ignored ones. A line with an unusable personalization value is still
 * personalized (it fails, recorded); a line without a usable line id is ignored.
 */
export function sortLineItems(orderId: string, items: readonly LineItemFields[]): ParsedOrder {
  const personalized: PersonalizedLine[] = [];
  const ignored: IgnoredLine[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const lineId = item.order_line_id;
    if (!lineId) {
      ignored.push({ order_line_id: item.sent_id, reason: 'invalid_line_item_id' });
      continue;
    }
    if (seen.has(lineId)) {
      ignored.push({ order_line_id: lineId, reason: 'duplicate_line_item' });
      continue;
    }
    seen.add(lineId);
    const [first, ...others] = personalizationIds(item.properties);
    if (first === undefined) {
      ignored.push({ order_line_id: lineId, reason: 'not_personalized' });
    } else {
      personalized.push({ order_line_id: lineId, personalization_id: linePersonalizationId([first, ...others]) });
    }
  }
  return { order_id: orderId, personalized, ignored };
}

/**
 * The distinct non-empty string values of `personalization_id` / `_personalization_id`, kept
 * exactly as sent. A value of only spaces counts (the contract's rule is any non-empty string:
 * the line fails on record, as no preview has that id) unless the other key has a real one.
 */
function personalizationIds(properties: unknown): string[] {
  if (!Array.isArray(properties)) return [];
  const values = new Set<string>();
  for (const property of properties) {
    if (!isRecord(property)) continue;
    const { name, value } = property;
    if (typeof name !== 'string' || !PERSONALIZATION_KEYS.has(name)) continue;
    if (typeof value === 'string' && value !== '') values.add(value);
  }
  const all = [...values];
  const real = all.filter((value) => value.trim() !== '');
  return real.length > 0 ? real : all;
}

/** A Shopify id as its exact decimal text: a JSON number (lossless) or a decimal string. */
function shopifyId(value: unknown): string | undefined {
  const text = isLosslessNumber(value) ? value.toString() : typeof value === 'string' ? value : undefined;
  return text !== undefined && shopifyIdSchema.safeParse(text).success ? text : undefined;
}

/** `gid://shopify/LineItem/<id>` → `<id>`. */
export function gidId(value: unknown, type: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = new RegExp(`^gid://shopify/${type}/([0-9]+)$`).exec(value);
  return match?.[1] ? shopifyId(match[1]) : undefined;
}

/** Whatever an unusable id was, as a short string for the answer. */
export function printable(value: unknown): string {
  if (isLosslessNumber(value)) return value.toString().slice(0, 40);
  if (typeof value === 'string') return value.slice(0, 40);
  return '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}
