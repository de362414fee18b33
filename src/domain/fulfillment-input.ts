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

/**
 * The workflow's second argument, given only by a run that continued as new: the attempt its
 * successor makes next, so that attempts are numbered on across the runs of a line.
 */
export const resumptionSchema = z.object({ attempt: z.number().int().min(2) });
export type Resumption = z.infer<typeof resumptionSchema>;
