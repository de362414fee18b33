import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { LineIdentity } from '../domain/line-identity.js';
import type { LineStatus } from '../domain/line-status.js';

/** The contract's custom search attributes: how ops find a line in the Temporal UI. */
export const ShopId = defineSearchAttributeKey('ShopId', SearchAttributeType.KEYWORD);
export const OrderId = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const OrderLineId = defineSearchAttributeKey('OrderLineId', SearchAttributeType.KEYWORD);
export const PersonalizationId = defineSearchAttributeKey('PersonalizationId', SearchAttributeType.KEYWORD);
export const FulfillmentStatus = defineSearchAttributeKey('FulfillmentStatus', SearchAttributeType.KEYWORD);

/** One attribute per field of the line's identity (a new field does not compile without one). */
const IDENTITY_ATTRIBUTES = {
  shop_id: ShopId,
  order_id: OrderId,
  order_line_id: OrderLineId,
  personalization_id: PersonalizationId,
} satisfies Record<keyof LineIdentity, typeof ShopId>;

export const SEARCH_ATTRIBUTES = [...Object.values(IDENTITY_ATTRIBUTES), FulfillmentStatus];

/** Every attribute of a line, as set at start and kept current by the workflow. */
export const lineSearchAttributes = (line: LineIdentity, status: LineStatus): SearchAttributePair[] => [
  ...Object.entries(IDENTITY_ATTRIBUTES).map(([field, key]) => ({ key, value: line[field as keyof LineIdentity] })),
  { key: FulfillmentStatus, value: status },
];
