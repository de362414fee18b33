export interface LineSpec {
  id: string;
  /** `null` writes `"properties": null`; undefined leaves the key out. */
  properties?: { name: string; value: unknown }[] | null;
}

/**
 * A realistic `orders/create` body (the shape of Shopify's sample payloads), written by hand so
 * the ids stay 18-digit JSON numbers that `JSON.parse` would corrupt.
 */
export function sampleOrderPayload(orderId: string, lines: LineSpec[], shop = 'example.myshopify.com'): string {
  const items = lines.map((line, index) => {
    const properties = line.properties === undefined ? '' : `"properties": ${JSON.stringify(line.properties)},`;
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
