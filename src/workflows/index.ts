// The workflow bundle's entry point: workflows only, no activities, no Node APIs.
export { FulfillOrderLine } from './fulfill-order-line.js';
export { RedactShopData } from './redact-shop-data.js';
export { DeliverOrderEvent } from './deliver-order-event.js';
export { ReconcileShop } from './reconcile-shop.js';
