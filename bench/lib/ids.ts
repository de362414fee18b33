import { randomInt } from 'node:crypto';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';

/**
 * Shopify-like 18-digit ids, all above 2^53 and unique within a bench run: a random run nonce
 * and a counter. Every delivery needs ids of its own, or it is a duplicate.
 */
const nonce = String(randomInt(10_000, 99_999));
let counter = 0;

export const nextId = (): string => `9${nonce}${String(++counter).padStart(12, '0')}`;

export const shopFor = (name: string): string => `bench-${name}.myshopify.com`;

export function lineInput(shop: string, orderId: string, lineId: string, personalizationId = `pers-${lineId}`): FulfillmentInput {
  return {
    shop_id: shop,
    order_id: orderId,
    order_line_id: lineId,
    personalization_id: personalizationId,
    webhook_id: `bench-${orderId}`,
    received_at: new Date().toISOString(),
  };
}
