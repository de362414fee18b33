import { WorkflowNotFoundError } from '@temporalio/client';
import type { LineKey } from '../domain/ids.js';
import { withTemporalDeadline } from '../intake/temporal-deadline.js';
import type { RequestLog } from '../logging/request-log.js';
import { emitFulfillmentEvent } from '../telemetry/fulfillment-events.js';
import { knownLineRun, restartFulfillment } from '../temporal/start-fulfillment.js';
import { retrySignal } from '../workflows/definitions.js';
import type { ServiceDeps } from './deps.js';
import { ERRORS } from './errors.js';
import { lineView } from './order-lines.js';
import type { Principal } from './principal.js';

/** How a retry reached the line: its running workflow, or a new run (started by this request, or a moment ago by another). */
type RetryHandOff = { mode: 'signalled' } | { mode: 'restarted'; newRun: string | null };

/**
 * Re-runs a failed line: signals `retry` to its running workflow, or, when that has closed
 * (the retry window ran out) or Temporal forgot it, starts a new run. `requestId` names the
 * retry in the new run's input.
 */
export async function retryLine(deps: ServiceDeps, principal: Principal, key: LineKey, requestId: string, log: RequestLog) {
  const line = await lineView(deps.db, principal, key, log);
  if (line.status !== 'failed') throw ERRORS.notFailed(line.status);
  const { client, taskQueue } = deps.temporal;
  const input = knownLineRun(line, `retry:${requestId}`);
  const handOff = await withTemporalDeadline(client, deps.temporalTimeoutMs, async (): Promise<RetryHandOff> => {
    try {
      await client.workflow.getHandle(line.workflow_id).signal(retrySignal);
      return { mode: 'signalled' };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    // Null when someone restarted it a moment ago: that run does the work, and that request reported it.
    const newRun = await restartFulfillment(client, taskQueue, { ...input, preview_wait_seconds: deps.config.PREVIEW_WAIT_SECONDS });
    return { mode: 'restarted', newRun };
  });
  log.logger.info({ mode: handOff.mode }, 'retry requested');
  // A signalled workflow reports the retry itself; a new run knows only that it starts.
  if (handOff.mode === 'restarted' && handOff.newRun) {
    const retried = {
      name: 'fulfillment.retry_requested' as const,
      attempt: 1,
      ...(line.reason_code ? { reason_code: line.reason_code } : {}),
    };
    await emitFulfillmentEvent(deps.telemetry, { runId: handOff.newRun }, input, retried);
  }
  return { workflow_id: line.workflow_id, status: 'retry_requested' as const };
}
