import { z } from 'zod';
import { linePersonalizationIdSchema, shopIdSchema, shopifyIdSchema } from './ids.js';

/**
 * Who a personalized order line is: declared once, and the workflow input, the status view,
 * the search attributes and the event properties derive from it.
 */
export const lineIdentitySchema = z.object({
  shop_id: shopIdSchema,
  order_id: shopifyIdSchema,
  order_line_id: shopifyIdSchema,
  personalization_id: linePersonalizationIdSchema,
});
export type LineIdentity = z.infer<typeof lineIdentitySchema>;

export const LINE_IDENTITY_FIELDS = lineIdentitySchema.keyof().options;
