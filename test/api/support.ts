import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';

/** Credentials of a test file: fresh random values, so a leak into a log line is unmistakable. */
export function testCredentials() {
  const shop = `shop-${randomBytes(4).toString('hex')}.myshopify.com`;
  const otherShop = `other-${randomBytes(4).toString('hex')}.myshopify.com`;
  return {
    shop,
    otherShop,
    operatorToken: `op_${randomBytes(18).toString('hex')}`,
    merchantToken: `mt_${randomBytes(18).toString('hex')}`,
    otherMerchantToken: `ot_${randomBytes(18).toString('hex')}`,
    webhookSecret: `whsec_${randomBytes(16).toString('hex')}`,
    oldWebhookSecret: `whsec_old_${randomBytes(16).toString('hex')}`,
    signingSecret: randomBytes(32).toString('hex'),
  };
}
export type TestCredentials = ReturnType<typeof testCredentials>;

export function testConfig(credentials: TestCredentials, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    SHOPIFY_WEBHOOK_SECRETS: `${credentials.webhookSecret},${credentials.oldWebhookSecret}`,
    API_TOKENS: [
      `${credentials.operatorToken}=*`,
      `${credentials.merchantToken}=${credentials.shop}`,
      `${credentials.otherMerchantToken}=${credentials.otherShop}`,
    ].join(','),
    LOG_LEVEL: 'trace',
    ...overrides,
  });
}

/** Every line the API logs, as text and parsed. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;

  constructor(level = 'trace') {
    this.logger = createLogger({ level, name: 'api-test' }, { write: (line: string) => void this.lines.push(line) });
  }

  get text(): string {
    return this.lines.join('');
  }

  entries(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export const hmac = (body: string | Buffer, secret: string): string => createHmac('sha256', secret).update(body).digest('base64');

/** An 18-digit Shopify-like id above 2^53, unique enough for a test run. */
export function bigId(): string {
  const id = `${randomInt(1, 10)}${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e9)).padStart(9, '0')}`;
  if (BigInt(id) <= 2n ** 53n) return bigId();
  return id;
}

export interface LineSpec {
  id: string;
  /** `null` writes `"properties": null`; undefined leaves the key out. */
  properties?: { name: string; value: unknown }[] | null;
}

/**
 * A realistic `orders/create` body (the shape of Shopify's sample payloads), written by hand so
 * the ids stay 18-digit JSON numbers that `JSON.parse` would corrupt.
 */
export function orderPayload(orderId: string, lines: LineSpec[], shop = 'example.myshopify.com'): string {
  const items = lines.map((line, index) => {
    const properties =
      line.properties === undefined ? '' : `"properties": ${JSON.stringify(line.properties)},`;
    return `{
      "id": ${line.id},
      "admin_graphql_api_id": "gid://shopify/LineItem/${line.id}",
      "current_quantity": 1,
      "fulfillable_quantity": 1,
      "fulfillment_service": "manual",
      "fulfillment_status": null,
      "gift_card": false,
      "grams": 200,
      "name": "Custom mug ${index + 1}",
      "price": "19.95",
      "price_set": {"shop_money": {"amount": "19.95", "currency_code": "EUR"}, "presentment_money": {"amount": "19.95", "currency_code": "EUR"}},
      "product_exists": true,
      "product_id": 788032119674292922,
      ${properties}
      "quantity": 1,
      "requires_shipping": true,
      "sku": "MUG-${index + 1}",
      "taxable": true,
      "title": "Custom mug",
      "total_discount": "0.00",
      "variant_id": 642667041472713922,
      "variant_title": null,
      "vendor": null,
      "tax_lines": [],
      "duties": [],
      "discount_allocations": []
    }`;
  });
  return `{
    "id": ${orderId},
    "admin_graphql_api_id": "gid://shopify/Order/${orderId}",
    "app_id": null,
    "browser_ip": null,
    "buyer_accepts_marketing": false,
    "cancel_reason": null,
    "cancelled_at": null,
    "confirmation_number": null,
    "confirmed": false,
    "contact_email": "jon@example.com",
    "created_at": "2021-12-31T19:00:00-05:00",
    "currency": "EUR",
    "current_total_price": "59.85",
    "email": "jon@example.com",
    "financial_status": "voided",
    "name": "#9999",
    "note": null,
    "note_attributes": [],
    "number": 234,
    "order_number": 1234,
    "presentment_currency": "EUR",
    "source_name": "web",
    "subtotal_price": "59.85",
    "tags": "tag1, tag2",
    "test": true,
    "total_price": "59.85",
    "total_weight": 0,
    "updated_at": "2021-12-31T19:00:00-05:00",
    "user_id": null,
    "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John", "last_name": "Smith"},
    "shop_domain": "${shop}",
    "line_items": [${items.join(',')}],
    "shipping_lines": [],
    "refunds": []
  }`;
}

/** A port nothing listens on (for an unreachable Temporal) or free to listen on next. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const personalized = (id: string, key = '_personalization_id') => [
  { name: 'Engraving', value: 'For Ada' },
  { name: key, value: id },
];
