import { z } from 'zod';

/** A shop is its `*.myshopify.com` domain, lower-cased as Shopify sends it. */
export const shopIdSchema = z
  .string()
  .max(255)
  .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, 'must be a shop domain like example.myshopify.com');

/** Shopify ids exceed 2^53, so they stay decimal strings end to end. */
export const shopifyIdSchema = z.string().regex(/^[1-9][0-9]{0,19}$/, 'must be a positive decimal id');

/** Opaque ids handed in by buyers or the generator: printable, bounded, safe in a storage key. */
export const opaqueIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -');

/**
 * An id a preview job can have: what the generator may record and a line can resolve. A buyer's
 * personalization id is untrusted cart input, used only as a lookup key, never in a path, so any
 * printable text is accepted.
 */
export const personalizationIdSchema = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be printable text');

/**
 * Bounds a line's personalization_id by what Temporal keeps of a Keyword search attribute: 255
 * characters in its SQL visibility stores, and at most 2 KiB of JSON per value, which 255
 * characters stay under even when every one is a control character escaped as `\u00XX`.
 */
const LINE_PERSONALIZATION_MAX = 255;

/**
 * The personalization_id a line travels and is recorded with. It is the cart's value when that
 * is an id a preview can have; anything else is still a line, which fails (recorded, with
 * guidance) as preview_not_found instead of being dropped at the door.
 */
export const linePersonalizationIdSchema = z
  .string()
  .min(1)
  .max(LINE_PERSONALIZATION_MAX)
  // eslint-disable-next-line no-control-regex -- NUL is what it refuses
  .regex(/^[^\u0000]+$/, 'must not contain NUL');

/**
 * The cart's personalization values as one line personalization_id, the same as sent when they
 * are a single usable id. Otherwise the result can never name a preview, so the line fails
 * instead of printing a guess: several values are joined by newlines, NUL (which Postgres text
 * cannot hold) becomes SUB (U+001A, the substitute character), and a value over the bound is cut
 * with a trailing `…`, still longer than any usable id. A lone surrogate becomes U+FFFD first,
 * as Postgres and Temporal would store it, so every record of the line shows the same id.
 */
export function linePersonalizationId(values: readonly [string, ...string[]]): string {
  const first = values[0].toWellFormed();
  if (values.length === 1 && personalizationIdSchema.safeParse(first).success) return first;
  const joined = values
    .map((value) => value.toWellFormed())
    .join('\n')
    .replaceAll('\u0000', '\u001a');
  if (joined.length <= LINE_PERSONALIZATION_MAX) return joined;
  let end = LINE_PERSONALIZATION_MAX - 1;
  // Never cut between the two halves of a surrogate pair.
  if (/[\ud800-\udbff]/.test(joined.charAt(end - 1))) end -= 1;
  return `${joined.slice(0, end)}…`;
}

export type ShopId = z.infer<typeof shopIdSchema>;

export interface LineKey {
  shop_id: string;
  order_line_id: string;
}

/** Workflow id = idempotency key of the line's fulfillment. */
export const fulfillmentWorkflowId = ({ shop_id, order_line_id }: LineKey): string => `${shop_id}:${order_line_id}:fulfillment`;

/** Unique in the database: a late duplicate can never make a second asset. */
export const finalAssetKey = ({ shop_id, order_line_id }: LineKey): string => `${shop_id}:${order_line_id}:final_asset`;
