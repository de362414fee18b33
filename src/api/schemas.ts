import { z } from 'zod';
import { shopIdSchema, shopifyIdSchema } from '../domain/ids.js';
import { errorBodySchema } from './plugins/errors.js';

/** An error response in a route's schema, described for the OpenAPI document. */
export const failure = (description: string) => errorBodySchema.describe(description);

export const bearerSecurity = [{ bearerAuth: [] }];
/** What a bearer route answers before its handler runs (`bearerAuth`). */
export const bearerFailures = {
  401: failure('unauthorized'),
  429: failure('rate_limited: too many wrong bearer tokens from this address; see Retry-After'),
};

export const lineParamsSchema = z.object({
  shop_id: shopIdSchema.describe('The shop, its *.myshopify.com domain'),
  order_line_id: shopifyIdSchema.describe("Shopify's line item id, as a decimal string"),
});

export const orderParamsSchema = z.object({
  shop_id: shopIdSchema.describe('The shop, its *.myshopify.com domain'),
  order_id: shopifyIdSchema.describe("Shopify's order id, as a decimal string"),
});
