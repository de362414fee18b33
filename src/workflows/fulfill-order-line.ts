import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { FulfillmentActivities } from '../activities/index.js';
import type { LineRecorded, PreviewRef } from '../activities/types.js';
import { fulfillmentInputSchema, resumptionSchema, type FulfillmentInput, type Resumption } from '../domain/fulfillment-input.js';
import type { FinalAsset, LineStatusView } from '../domain/line-status.js';
import { isReasonCode } from '../domain/reasons.js';
import { previewReadySignal, retrySignal, statusQuery } from './definitions.js';
import { LineState, type LineFailure, type RecordedAt } from './line-state.js';

/** How long a failed line waits for an operator's retry before the workflow completes, the line failed. */
const RETRY_WINDOW_MS = 7 * 24 * 3600 * 1000;
/** A waiting line looks again this often even if no `preview_ready` signal arrives... */
const PREVIEW_POLL_MS = 60 * 1000;
/** ...or, in a longer wait, this many times in all: each look adds about 11 events to the history. */
const PREVIEW_POLLS_PER_WAIT = 100;

/**
 * Patch marker: a wait longer than 100 minutes polls `PREVIEW_POLLS_PER_WAIT` times instead of
 * every minute, so that a wait of days (up to 10,080 polls, 110,000 events) stays far below
 * Temporal's history limit of 51,200 events. Histories from before it replay the old timers.
 */
const POLLS_SCALED_TO_WAIT = 'polls-scaled-to-wait';

/**
 * Patch marker: after a retry, a run Temporal suggests continuing as new does so. A history
 * from before it may carry that suggestion at the same point and went on in the same run.
 */
const CONTINUE_AS_NEW_AFTER_RETRY = 'continue-as-new-after-retry';

/** Database steps: an outage heals, so they retry for as long as it lasts. */
const bookkeeping: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Storage steps stream whole files: heartbeats catch a dead worker; a storage that stays down becomes a failure. */
const STORAGE_ATTEMPTS = 10;
const streaming: ActivityOptions = {
  startToCloseTimeout: '1h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: STORAGE_ATTEMPTS },
};

const activity = <K extends keyof FulfillmentActivities>(name: K, options: ActivityOptions, summary: string) =>
  proxyActivities<FulfillmentActivities>({ ...options, summary })[name];

const beginFulfillment = activity('beginFulfillment', bookkeeping, 'Open the line (or find its asset)');
const resolvePreview = activity('resolvePreview', bookkeeping, 'Resolve personalization_id to its preview');
const markLineWorking = activity('markLineWorking', bookkeeping, 'Record the line status');
const verifyPreview = activity('verifyPreview', streaming, 'Verify the preview: image, size, sha256');
const persistFinalAsset = activity('persistFinalAsset', streaming, 'Copy to the print bucket and record the asset');
const recordFailure = activity('recordFailure', bookkeeping, 'Record the failure with its guidance');
const emitEvent = activity('emitEvent', bookkeeping, 'Report to PostHog');

/** When an activity's write changed the line's row; results recorded before activities said it are empty. */
const recordedAt = (result: Partial<LineRecorded> | undefined): RecordedAt => result?.line_updated_at;

/**
 * Patch marker: a retry counts from the moment the failure is being recorded, not only once the
 * workflow has marked the line failed. Histories from before it replay the old handling.
 */
const RETRY_WHILE_RECORDING_FAILURE = 'retry-while-recording-failure';

/**
 * One personalized order line, from its preview to its final print-ready asset: resolve the
 * preview (waiting while it renders), verify it, copy it into the print bucket and record it.
 * A failure is recorded with its reason and guidance, and the line waits for an operator's retry.
 */
export async function FulfillOrderLine(rawInput: FulfillmentInput, rawResumption?: Resumption): Promise<LineStatusView> {
  const input = parseInput(fulfillmentInputSchema, rawInput);
  const resumed = rawResumption === undefined ? undefined : parseInput(resumptionSchema, rawResumption);
  const line = new LineState(input);
  let retryRequested = false;
  let recordingFailure = false;
  let previewPosted = false;
  setHandler(statusQuery, () => line.view);
  setHandler(retrySignal, () => {
    // The retry route acts on the database, which says failed as soon as recordFailure commits,
    // before the workflow has the activity's result: a retry sent then must count too.
    retryRequested = line.view.status === 'failed' || recordingFailure;
  });
  setHandler(previewReadySignal, () => {
    previewPosted = true;
  });

  const begun = await beginFulfillment(input);
  if (begun.final_asset) {
    line.persisted(begun.final_asset, recordedAt(begun));
    return line.view;
  }
  line.recorded(recordedAt(begun));
  if (!resumed) await emitEvent(input, { name: 'fulfillment.started', attempt: 1 });

  for (let attempt = resumed?.attempt ?? 1; ; attempt++) {
    const outcome = await attemptFulfillment();
    if ('asset' in outcome) {
      line.persisted(outcome.asset, outcome.recorded_at);
      await emitEvent(input, {
        name: 'fulfillment.asset.persisted',
        job_id: outcome.job_id,
        sha256: outcome.asset.sha256,
        size_bytes: outcome.asset.size_bytes,
      });
      return line.view;
    }

    const { failure, job_id } = outcome;
    // Cleared before the failure is recorded: a retry sent from then on is never lost.
    const retriesCountWhileRecording = patched(RETRY_WHILE_RECORDING_FAILURE);
    if (retriesCountWhileRecording) retryRequested = false;
    recordingFailure = retriesCountWhileRecording;
    const recorded = await recordFailure(input, { attempt, ...failure });
    recordingFailure = false;
    // Histories from before the patch cleared it only now, dropping a retry sent meanwhile.
    if (!retriesCountWhileRecording) retryRequested = false;
    line.failed(failure, new Date(Date.now() + RETRY_WINDOW_MS), recordedAt(recorded));
    await emitEvent(input, { name: 'fulfillment.asset.failed', attempt, reason_code: failure.reason_code, job_id });

    if (!(await condition(() => retryRequested, RETRY_WINDOW_MS, { summary: 'Wait for an operator retry' }))) {
      return line.view;
    }
    line.processing(recordedAt(await markLineWorking(input, 'processing')));
    await emitEvent(input, { name: 'fulfillment.retry_requested', attempt: attempt + 1, reason_code: failure.reason_code });
    // A line retried again and again would outgrow its history: Temporal says when, and the
    // next attempt goes on in a new run of the same workflow id, its search attributes kept.
    if (patched(CONTINUE_AS_NEW_AFTER_RETRY) && workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof FulfillOrderLine>(input, { attempt: attempt + 1 });
    }
  }

  async function attemptFulfillment(): Promise<
    { asset: FinalAsset; job_id: string; recorded_at: RecordedAt } | { failure: LineFailure; job_id: string | null }
  > {
    let preview: PreviewRef | undefined;
    try {
      preview = await awaitReadyPreview();
      const verified = await verifyPreview(preview);
      const { line_updated_at, ...asset } = await persistFinalAsset(input, verified);
      return { asset, job_id: preview.job_id, recorded_at: line_updated_at };
    } catch (error) {
      const failure = asLineFailure(error);
      const jobId = preview?.job_id ?? failure.details['job_id'];
      return { failure, job_id: typeof jobId === 'string' ? jobId : null };
    }
  }

  /** Resolves the preview; while it renders, waits durably up to the configured time. */
  async function awaitReadyPreview(): Promise<PreviewRef> {
    let deadline: number | undefined;
    for (;;) {
      previewPosted = false;
      const resolution = await resolvePreview(input);
      if (resolution.state === 'ready') {
        if (line.view.status === 'waiting_for_preview') {
          line.processing(recordedAt(await markLineWorking(input, 'processing')));
        }
        return resolution.preview;
      }
      deadline ??= Date.now() + resolution.wait_seconds * 1000;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new PreviewNotReady(
          resolution.job_id,
          `preview job ${resolution.job_id} was still rendering after ${resolution.wait_seconds} s`,
        );
      }
      if (line.view.status !== 'waiting_for_preview') {
        const marked = await markLineWorking(input, 'waiting_for_preview');
        line.waitingForPreview(resolution.job_id, new Date(deadline), recordedAt(marked));
      }
      const pollMs = patched(POLLS_SCALED_TO_WAIT)
        ? Math.max(PREVIEW_POLL_MS, (resolution.wait_seconds * 1000) / PREVIEW_POLLS_PER_WAIT)
        : PREVIEW_POLL_MS;
      await condition(() => previewPosted, Math.min(remaining, pollMs), {
        summary: 'Wait for the preview to finish rendering',
      });
    }
  }
}

class PreviewNotReady extends Error {
  constructor(
    readonly jobId: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A line's own failure: a reason-coded ApplicationFailure from an activity, the preview wait
 * running out, or storage still failing after every retry. Anything else (the database steps
 * retry without limit, so only a bug gets here) fails the workflow.
 */
function asLineFailure(error: unknown): LineFailure {
  if (error instanceof PreviewNotReady) {
    return { reason_code: 'preview_not_ready', message: error.message, details: { job_id: error.jobId } };
  }
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && isReasonCode(cause.type)) {
      const [details] = cause.details ?? [];
      return { reason_code: cause.type, message: cause.message, details: (details ?? {}) as Record<string, unknown> };
    }
    if (error.activityType === 'verifyPreview' || error.activityType === 'persistFinalAsset') {
      return {
        reason_code: 'asset_inaccessible',
        message: `storage did not answer after ${STORAGE_ATTEMPTS} attempts: ${cause?.message ?? error.message}`,
        details: {},
      };
    }
  }
  throw error;
}

function parseInput<T>(schema: z.ZodType<T>, rawInput: unknown): T {
  const parsed = schema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid FulfillOrderLine input: ${parsed.error.message}`, 'invalid_input');
  }
  return parsed.data;
}
