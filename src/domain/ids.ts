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
 * A buyer's personalization id is untrusted cart input, used only as a lookup key, never in a
 * path: any printable text is accepted, so an odd one fails its line with preview_not_found
 * (recorded, with guidance) instead of being dropped at the door.
 */
export const personalizationIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be printable text');

export type ShopId = z.infer<typeof shopIdSchema>;

export interface LineKey {
  shop_id: string;
  order_line_id: string;
}

/** Workflow id = idempotency key of the line's fulfillment. */
export const fulfillmentWorkflowId = ({ shop_id, order_line_id }: LineKey): string =>
  `${shop_id}:${order_line_id}:fulfillment`;

/** Unique in the database: a late duplicate can never make a second asset. */
export const finalAssetKey = ({ shop_id, order_line_id }: LineKey): string =>
  `${shop_id}:${order_line_id}:final_asset`;
