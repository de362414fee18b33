import { z } from 'zod';
import { lineIdentitySchema } from './line-identity.js';

/** A line as the intake hands it over: who it is and which delivery brought it. */
export const fulfillmentInputSchema = lineIdentitySchema.extend({
  webhook_id: z.string().max(200),
  received_at: z.iso.datetime({ offset: true }),
  /**
   * How many personalized lines of its order the intake started with this one: the order is not
   * ready for print before that many have rows, even if a sibling's row is not written yet.
   */
  order_lines: z.number().int().positive().optional(),
});
export type FulfillmentInput = z.infer<typeof fulfillmentInputSchema>;

/** `PREVIEW_WAIT_SECONDS` when the environment does not set it. */
export const DEFAULT_PREVIEW_WAIT_SECONDS = 1800;

/**
 * Input of the `FulfillOrderLine` workflow (contract, Workflow): the line, and how long it may
 * wait for a preview still rendering (`PREVIEW_WAIT_SECONDS`, fixed when the run starts). A run
 * started by hand with the contract's input alone waits the worker's `PREVIEW_WAIT_SECONDS`,
 * which the line's opening step answers.
 */
export const workflowInputSchema = fulfillmentInputSchema.extend({
  preview_wait_seconds: z.number().int().nonnegative().optional(),
});
/** What a caller passes: `preview_wait_seconds` may be left out. */
export type WorkflowInput = z.input<typeof workflowInputSchema>;

/**
 * The workflow's second argument, given only by a run that continued as new: the attempt its
 * successor makes next, so that attempts are numbered on across the runs of a line.
 */
export const resumptionSchema = z.object({ attempt: z.number().int().min(2) });
export type Resumption = z.infer<typeof resumptionSchema>;
