// Shopify's privacy payloads, as its documentation shows them: ids as JSON numbers (18 digits,
// above 2^53), the customer's email and phone included, so tests can prove they are never kept.

/** The contact a payload carries: tests scan the database and the logs for both. */
export const CUSTOMER_EMAIL = 'forget-me.7c41@example.com';
export const CUSTOMER_PHONE = '+1-555-0199-7341';

const shopNumber = '68999123456789012';

export const dataRequestPayload = (shop: string, customerId: string, dataRequestId: string, orderIds: readonly string[]) => `{
  "shop_id": ${shopNumber},
  "shop_domain": "${shop}",
  "orders_requested": [${orderIds.join(', ')}],
  "customer": { "id": ${customerId}, "email": "${CUSTOMER_EMAIL}", "phone": "${CUSTOMER_PHONE}" },
  "data_request": { "id": ${dataRequestId} }
}`;

export const customerRedactPayload = (shop: string, customerId: string, orderIds: readonly string[]) => `{
  "shop_id": ${shopNumber},
  "shop_domain": "${shop}",
  "customer": { "id": ${customerId}, "email": "${CUSTOMER_EMAIL}", "phone": "${CUSTOMER_PHONE}" },
  "orders_to_redact": [${orderIds.join(', ')}]
}`;

export const shopRedactPayload = (shop: string) => `{ "shop_id": ${shopNumber}, "shop_domain": "${shop}" }`;
