import { signShopifyBody } from '../../src/intake/shopify.js';
import { sampleOrderPayload } from '../../src/demo/sample-order.js';
import { secrets } from './context.js';
import { nextId } from './ids.js';

/** One signed `orders/create` delivery, ready to send as is. */
export interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/**
 * A realistic order (the demo's Shopify-shaped payload) with `lines` personalized line items,
 * ids of its own and a correct HMAC. `personalizationIds` names them (default: one per line).
 */
export function makeDelivery(shop: string, lines: number, personalizationIds?: readonly string[]): Delivery {
  const orderId = nextId();
  const body = sampleOrderPayload(
    orderId,
    Array.from({ length: lines }, (_, index) => {
      const id = nextId();
      return {
        id,
        properties: [
          { name: 'Engraving', value: 'For Ada' },
          { name: '_personalization_id', value: personalizationIds?.[index] ?? `pers-${id}` },
        ],
      };
    }),
    shop,
  );
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': shop,
      'x-shopify-webhook-id': `wh-${orderId}`,
      'x-shopify-api-version': '2025-07',
      'x-shopify-hmac-sha256': signShopifyBody(body, secrets.webhook),
    },
  };
}
