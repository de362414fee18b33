import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import { fulfillmentWorkflowId } from '../domain/ids.js';
import { FULFILL_ORDER_LINE } from '../workflows/definitions.js';
import type { FulfillOrderLine } from '../workflows/fulfill-order-line.js';
import { lineSearchAttributes } from '../workflows/search-attributes.js';

export type StartOutcome = { workflow_id: string; status: 'started' | 'duplicate' };

/**
 * Starts the line's workflow unless one exists or existed under its id: the id is the
 * idempotency key, so a redelivered webhook starts nothing. `'FAIL'` is what tells a
 * duplicate apart (`USE_EXISTING` would hide it).
 */
export async function startFulfillment(client: Client, taskQueue: string, input: FulfillmentInput): Promise<StartOutcome> {
  const workflowId = fulfillmentWorkflowId(input);
  try {
    await startRun(client, taskQueue, input, 'REJECT_DUPLICATE');
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
export async function restartFulfillment(client: Client, taskQueue: string, input: FulfillmentInput): Promise<string> {
  return (await startRun(client, taskQueue, input, 'ALLOW_DUPLICATE')).firstExecutionRunId;
}

function startRun(
  client: Client,
  taskQueue: string,
  input: FulfillmentInput,
  workflowIdReusePolicy: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE',
) {
  return client.workflow.start<typeof FulfillOrderLine>(FULFILL_ORDER_LINE, {
    workflowId: fulfillmentWorkflowId(input),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy,
    typedSearchAttributes: lineSearchAttributes(input, 'processing'),
    staticSummary: `Order ${input.order_id}, line ${input.order_line_id} of ${input.shop_id}`,
    staticDetails:
      `Personalization \`${input.personalization_id}\`, webhook \`${input.webhook_id}\`, received ${input.received_at}.\n\n` +
      'Query `status` for where the line stands; send the `retry` signal after fixing a failure.',
  });
}
