import { z } from 'zod';
import { linePersonalizationIdSchema, shopIdSchema, shopifyIdSchema } from './ids.js';

/** Input of the `FulfillOrderLine` workflow (contract, Workflow). */
export const fulfillmentInputSchema = z.object({
  shop_id: shopIdSchema,
  order_id: shopifyIdSchema,
  order_line_id: shopifyIdSchema,
  personalization_id: linePersonalizationIdSchema,
  webhook_id: z.string().max(200),
  received_at: z.iso.datetime({ offset: true }),
});
export type FulfillmentInput = z.infer<typeof fulfillmentInputSchema>;
