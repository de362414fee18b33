import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { FulfillmentInput, WorkflowInput } from '../domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../domain/ids.js';
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
    await startRun(client, start.taskQueue, withWait(line, start), 'REJECT_DUPLICATE');
    return { workflow_id: workflowId, status: 'started' };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflow_id: workflowId, status: 'duplicate' };
    throw error;
  }
}

/**
 * A new run for a line whose workflow has closed (an operator's retry after the retry window).
 * The database's association key still guarantees one asset. Answers the new run's id.
 */
export async function restartFulfillment(client: Client, start: FulfillmentStart, line: FulfillmentInput): Promise<string> {
  return (await startRun(client, start.taskQueue, withWait(line, start), 'ALLOW_DUPLICATE')).firstExecutionRunId;
}

/**
 * A short run for a line closed after its workflow ended (a persisted line withheld): its
 * opening finds the line closed and ends so, and the line's latest run, which the `status`
 * query and the UI's `FulfillmentStatus` read, agrees with the database. Nothing is copied.
 */
export async function recordClosureRun(client: Client, taskQueue: string, line: FulfillmentInput): Promise<void> {
  await startRun(client, taskQueue, line, 'ALLOW_DUPLICATE');
}

const withWait = (line: FulfillmentInput, { previewWaitSeconds }: FulfillmentStart): WorkflowInput => ({
  ...line,
  preview_wait_seconds: previewWaitSeconds,
});

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
