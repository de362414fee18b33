import { WorkflowNotFoundError } from '@temporalio/client';
import { linesToWakeForPreview } from '../db/repositories/order-lines.js';
import { recordPreviewJob, type PreviewObject } from '../db/repositories/preview-jobs.js';
import type { PreviewJobInput } from '../domain/preview-job.js';
import { withTemporalDeadline } from '../intake/temporal-deadline.js';
import type { RequestLog } from '../logging/request-log.js';
import { previewReadySignal } from '../workflows/definitions.js';
import type { ServiceDeps } from './deps.js';
import { ERRORS } from './errors.js';
import { canAccessShop, type Principal } from './principal.js';

/**
 * The object is copied into the shop's print bucket and handed out by signed URL: a merchant
 * may name only its own shop's objects in the preview bucket, or it could read another shop's.
 * Judged on the job as it will be stored, what is already recorded included.
 */
function merchantObjectCheck(principal: Principal, job: PreviewJobInput, previewBucket: string) {
  return (object: PreviewObject): string | null => {
    if (principal.scope === '*') return null;
    if (object.bucket !== previewBucket) return `A merchant token may only hand off previews in ${previewBucket}`;
    if (object.path !== null && !object.path.startsWith(`${job.shop_id}/`)) {
      return `A merchant token may only hand off previews stored under ${job.shop_id}/`;
    }
    return null;
  };
}

/** The generator's hand-off: records the job and wakes the lines waiting for it. */
export async function recordPreview(deps: ServiceDeps, principal: Principal, job: PreviewJobInput, log: RequestLog) {
  if (!canAccessShop(principal, job.shop_id)) throw ERRORS.forbidden('This token may not write for that shop');
  log.bind({ shop_id: job.shop_id, personalization_id: job.personalization_id });

  const result = await recordPreviewJob(
    deps.db,
    job,
    deps.config.PREVIEW_BUCKET,
    merchantObjectCheck(principal, job, deps.config.PREVIEW_BUCKET),
  );
  if (result.outcome === 'refused') throw ERRORS.forbidden(result.message);
  if (result.outcome === 'conflict') throw ERRORS.previewConflict(result.message, result.job);
  log.logger.info({ job_id: result.job.job_id, status: result.job.status, outcome: result.outcome }, 'preview job recorded');

  // Also on a repeat: a generator re-posting is a fair nudge if an earlier signal was lost.
  if (result.job.status !== 'rendering') await wakeWaitingLines(deps, job, log);
  const { shop_id, personalization_id, job_id, status, bucket, path, content_type } = result.job;
  return { shop_id, personalization_id, job_id, status, bucket, path, content_type, outcome: result.outcome };
}

/**
 * Lines waiting for this preview look again now instead of at their next poll. Best effort:
 * the job is recorded either way and a waiting workflow still looks at its poll (a sixth of its
 * wait, between a minute and a quarter of an hour). The signal only
 * says "look again", so a line that was not waiting loses nothing.
 */
async function wakeWaitingLines({ db, temporal, temporalTimeoutMs }: ServiceDeps, job: PreviewJobInput, log: RequestLog): Promise<void> {
  const workflowIds = await linesToWakeForPreview(db, job.shop_id, job.personalization_id);
  const outcomes = await Promise.allSettled(
    workflowIds.map((workflowId) =>
      withTemporalDeadline(temporal.client, temporalTimeoutMs, () =>
        temporal.client.workflow.getHandle(workflowId).signal(previewReadySignal),
      ),
    ),
  );
  outcomes.forEach((outcome, index) => {
    const workflow_id = workflowIds[index];
    if (outcome.status === 'fulfilled') {
      log.logger.info({ workflow_id }, 'waiting line signalled: preview_ready');
    } else if (!(outcome.reason instanceof WorkflowNotFoundError)) {
      log.logger.warn({ workflow_id, err: outcome.reason }, 'could not signal a waiting line; it will poll');
    }
  });
}
