import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { redactionWorkflowId, type RedactionInput } from '../domain/privacy.js';
import { REDACT_SHOP_DATA } from '../workflows/definitions.js';
import { codeSpan } from '../workflows/markdown.js';
import type { RedactShopData } from '../workflows/redact-shop-data.js';

/**
 * Starts the redaction's workflow unless it runs or ran: its id comes from the redaction id, so
 * a redelivered request (or an API instance racing another) starts nothing new.
 */
export async function startRedaction(client: Client, taskQueue: string, input: RedactionInput): Promise<string> {
  const workflowId = redactionWorkflowId(input.shop_id, input.redaction_id);
  const what = input.kind === 'shop' ? 'everything of the shop' : "a customer's orders";
  try {
    await client.workflow.start<typeof RedactShopData>(REDACT_SHOP_DATA, {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `Redaction ${codeSpan(input.redaction_id)} of ${codeSpan(input.shop_id)}: ${what}`,
      staticDetails:
        'Stops each line of the orders named (or of the whole shop), deletes its final asset and preview objects, erases its ' +
        'records, deletes its closed executions and marks it `redacted`' +
        (input.kind === 'shop'
          ? `; then empties the shop's folders in ${codeSpan(input.print_bucket)} and ${codeSpan(input.preview_bucket)}.`
          : '.') +
        '\n\nProgress and counts: `GET /v1/shops/:shop_id/redactions/:redaction_id`.',
    });
  } catch (error) {
    // It ran to completion before: a redelivery of a done redaction changes nothing.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}
