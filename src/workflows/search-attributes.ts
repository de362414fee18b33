import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The contract's custom search attributes: how ops find a line in the Temporal UI. */
export const ShopId = defineSearchAttributeKey('ShopId', SearchAttributeType.KEYWORD);
export const OrderId = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const OrderLineId = defineSearchAttributeKey('OrderLineId', SearchAttributeType.KEYWORD);
export const PersonalizationId = defineSearchAttributeKey('PersonalizationId', SearchAttributeType.KEYWORD);
export const FulfillmentStatus = defineSearchAttributeKey('FulfillmentStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [ShopId, OrderId, OrderLineId, PersonalizationId, FulfillmentStatus];

/** Every attribute of a line, as set at start and kept current by the workflow. */
export const lineSearchAttributes = (
  line: { shop_id: string; order_id: string; order_line_id: string; personalization_id: string },
  status: string,
) => [
  { key: ShopId, value: line.shop_id },
  { key: OrderId, value: line.order_id },
  { key: OrderLineId, value: line.order_line_id },
  { key: PersonalizationId, value: line.personalization_id },
  { key: FulfillmentStatus, value: status },
];
