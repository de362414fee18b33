import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { FulfillmentInput, WorkflowInput } from '../domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../domain/ids.js';
import type { LineIdentity } from '../domain/line-identity.js';
import { FULFILL_ORDER_LINE } from '../workflows/definitions.js';
import type { FulfillOrderLine } from '../workflows/fulfill-order-line.js';
import { codeSpan } from '../workflows/markdown.js';
import { lineSearchAttributes } from '../workflows/search-attributes.js';

export interface StartOutcome {
  workflow_id: string;
  status: 'started' | 'duplicate';
}

/** Where lines run, and what each run is told at its start. */
export interface FulfillmentStart {
  taskQueue: string;
  /** `PREVIEW_WAIT_SECONDS`: how long a line waits for a preview that is still rendering. */
  previewWaitSeconds: number;
}

/**
 * Starts the line's workflow unless one exists or existed under its id: the id is the
 * idempotency key, so a redelivered webhook starts nothing. `'FAIL'` is what tells a
 * duplicate apart (`USE_EXISTING` would hide it).
 */
export async function startFulfillment(client: Client, start: FulfillmentStart, line: FulfillmentInput): Promise<StartOutcome> {
  const workflowId = fulfillmentWorkflowId(line);
  try {
    await startRun(client, start.taskQueue, { ...line, preview_wait_seconds: start.previewWaitSeconds }, 'REJECT_DUPLICATE');
    return { workflow_id: workflowId, status: 'started' };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflow_id: workflowId, status: 'duplicate' };
    throw error;
  }
}

/**
 * The input of a new run for a line printready already has (an operator's retry, a closure's
 * record), named in `webhook_id` by what started it.
 */
export const knownLineRun = (line: LineIdentity, startedBy: string): FulfillmentInput => ({
  shop_id: line.shop_id,
  order_id: line.order_id,
  order_line_id: line.order_line_id,
  personalization_id: line.personalization_id,
  webhook_id: startedBy.slice(0, 200),
  received_at: new Date().toISOString(),
});

/**
 * A new run for a line whose workflow has closed: an operator's retry after the retry window,
 * or a closure of a line whose run had ended (its opening finds the line closed and ends so,
 * and the latest run, which the `status` query and `FulfillmentStatus` read, agrees with the
 * database). The database's association key still guarantees one asset. Answers the new run's
 * id, or null when another run started meanwhile (that one does the work).
 */
export async function restartFulfillment(client: Client, taskQueue: string, input: WorkflowInput): Promise<string | null> {
  try {
    return (await startRun(client, taskQueue, input, 'ALLOW_DUPLICATE')).firstExecutionRunId;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return null;
    throw error;
  }
}

function startRun(client: Client, taskQueue: string, line: WorkflowInput, workflowIdReusePolicy: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE') {
  return client.workflow.start<typeof FulfillOrderLine>(FULFILL_ORDER_LINE, {
    workflowId: fulfillmentWorkflowId(line),
    taskQueue,
    args: [line],
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy,
    typedSearchAttributes: lineSearchAttributes(line, 'processing'),
    // The ids come from the buyer's cart and Shopify's headers: shown as code, never as Markdown.
    staticSummary: `Order ${codeSpan(line.order_id)}, line ${codeSpan(line.order_line_id)} of ${codeSpan(line.shop_id)}`,
    staticDetails:
      `Personalization ${codeSpan(line.personalization_id)}, webhook ${codeSpan(line.webhook_id)}, received ${line.received_at}.\n\n` +
      'Query `status` for where the line stands; send the `retry` signal after fixing a failure.',
  });
}
