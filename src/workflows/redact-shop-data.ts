import { ApplicationFailure, continueAsNew, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { RedactionActivities } from '../activities/redaction.js';
import { redactionInputSchema, type RedactionCounts, type RedactionInput } from '../domain/privacy.js';

/** Pages of lines (100 each) one run erases before it continues as new: about 7 events a page keeps a run near 150 events. */
const PAGES_PER_RUN = 20;

// Every step is idempotent and retried until it succeeds: a privacy request must be carried out,
// whatever outage it meets. Heartbeats catch a worker that died in the middle of a page.
const steps = (summary: string) =>
  proxyActivities<RedactionActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2m' },
    summary,
  });
const { markOrdersRedacted } = steps('Mark the orders redacted: none of their lines starts or records an asset from now on');
const { redactLinePage } = steps('Stop, delete and erase the next 100 lines');
const { eraseShopFolder } = steps("Delete every object under the shop's folder");
const { completeRedaction } = steps('Drop the orders from data-request reports, record the counts');

/**
 * A privacy request carried out: `customers/redact` erases the lines of the orders it names,
 * `shop/redact` every line of the shop and then its folders in both buckets. Lines go a page at
 * a time, each page stopping their workflows, deleting their objects and executions and erasing
 * their records; a long redaction continues as new, so its history stays small. Running it again
 * (a crash, a retry) redoes only what is idempotent and counts nothing twice.
 */
export async function RedactShopData(rawInput: RedactionInput): Promise<RedactionCounts> {
  const parsed = redactionInputSchema.safeParse(rawInput);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid RedactShopData input: ${parsed.error.message}`, 'invalid_input');
  const input = parsed.data;
  const started = input.after === undefined && input.lines_done === undefined;

  if (started) {
    const orders = await markOrdersRedacted(input.redaction_id, input.shop_id);
    setCurrentDetails(`${orders} orders marked redacted; erasing their lines.`);
  }

  let after = input.after ?? null;
  let lines = 0;
  if (!input.lines_done) {
    for (let page = 0; ; page++) {
      if (page === PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        return continueAsNew<typeof RedactShopData>({ ...input, after });
      }
      const erased = await redactLinePage(input.redaction_id, input.shop_id, after);
      if (erased.last === null) break;
      after = erased.last;
      lines += erased.lines;
      setCurrentDetails(`Erased ${lines} lines in this run, up to line \`${after}\`.`);
    }
  }

  if (input.kind === 'shop') {
    for (const bucket of [input.preview_bucket, input.print_bucket]) {
      for (let round = 0; ; round++) {
        if (round === PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
          return continueAsNew<typeof RedactShopData>({ ...input, after, lines_done: true });
        }
        if (!(await eraseShopFolder(input.redaction_id, input.shop_id, bucket)).more) break;
      }
    }
  }

  const counts = await completeRedaction(input.redaction_id, input.shop_id);
  setCurrentDetails(
    `Completed: ${counts.orders_redacted} orders, ${counts.lines_redacted} lines, ${counts.objects_deleted} objects deleted.`,
  );
  return counts;
}
