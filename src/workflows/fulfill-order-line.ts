import { ApplicationFailure, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { z } from 'zod';
import type { PreviewRef } from '../activities/types.js';
import type { LineFailure } from '../domain/errors.js';
import { resumptionSchema, workflowInputSchema, type Resumption, type WorkflowInput } from '../domain/fulfillment-input.js';
import { closeRequestSchema, type CloseReason, type FinalAsset, type LineStatusView } from '../domain/line-status.js';
import { closeSignal, previewReadySignal, retrySignal, statusQuery } from './definitions.js';
import { LineState, type RecordedAt } from './line-state.js';
import {
  asLineFailure,
  closeLine,
  LineFailed,
  markLineWorking,
  openLine,
  persistPreview,
  recordFailure,
  reopenLine,
  resolvePreview,
} from './steps.js';

/** How long a failed line waits for an operator's retry before the workflow completes, the line failed. */
const RETRY_WINDOW_MS = 7 * 24 * 3600 * 1000;
/**
 * A waiting line is woken by the `preview_ready` signal the previews route sends; it also looks
 * by itself this many times in its wait, for a signal that was lost. Each look of an evicted
 * workflow replays its history, so thousands of waiting lines must look rarely...
 */
const PREVIEW_LOOKS_PER_WAIT = 6;
/** ...but a lost signal costs no more than a minute on a short wait, and a quarter of an hour on a long one (96 looks a day). */
const PREVIEW_POLL_MIN_MS = 60 * 1000;
const PREVIEW_POLL_MAX_MS = 15 * 60 * 1000;

/**
 * One personalized order line, from its preview to its final print-ready asset: resolve the
 * preview (waiting while it renders), verify it, copy it into the print bucket and record it.
 * A failure is recorded with its reason and guidance, and the line waits for an operator's retry.
 * A `close` signal (the order cancelled, the line refunded) ends a waiting line `cancelled`, and
 * a line in the middle of its copy `withheld` once the copy is done.
 */
export async function FulfillOrderLine(rawInput: WorkflowInput, rawResumption?: Resumption): Promise<LineStatusView> {
  const input = parseInput(workflowInputSchema, rawInput);
  const resumed = rawResumption === undefined ? undefined : parseInput(resumptionSchema, rawResumption);
  const line = new LineState(input);
  let retryRequested = false;
  let recordingFailure = false;
  let previewPosted = false;
  let closeRequested: CloseReason | undefined;
  // Read through a call: the signal handler sets it between awaits, which narrowing cannot see.
  const closing = (): CloseReason | undefined => closeRequested;
  setHandler(statusQuery, () => line.view);
  setHandler(closeSignal, (request) => {
    // A malformed argument (typed by hand in the UI) still closes the line: failing the
    // workflow task over it would leave the line open.
    closeRequested ??= closeRequestSchema.safeParse(request ?? {}).data?.reason ?? 'operator';
  });
  setHandler(retrySignal, () => {
    // The retry route acts on the database, which says failed as soon as recordFailure commits,
    // before the workflow has the activity's result: a retry sent then must count too.
    retryRequested = line.view.status === 'failed' || recordingFailure;
  });
  setHandler(previewReadySignal, () => {
    previewPosted = true;
  });

  // A run that continued as new goes on with a line already announced.
  const begun = await openLine(input, !resumed);
  if (begun.redacted) {
    line.redacted(begun.line_updated_at);
    return line.view;
  }
  if (begun.closed) {
    line.closed(begun.closed.status, begun.final_asset, begun.line_updated_at);
    return line.view;
  }
  if (begun.final_asset) {
    line.persisted(begun.final_asset, begun.line_updated_at);
    return line.view;
  }
  line.recorded(begun.line_updated_at);
  // The preview as the line's opening found it: the first attempt's first look.
  let firstLook = begun.preview;
  // Started with the contract's input alone (by hand): the worker's setting, as the opening answered it.
  const previewWaitSeconds = input.preview_wait_seconds ?? begun.preview_wait_seconds;

  for (let attempt = resumed?.attempt ?? 1; ; attempt++) {
    const outcome = await attemptFulfillment();
    if ('withheld' in outcome) {
      line.closed('withheld', outcome.asset, outcome.recorded_at);
      return line.view;
    }
    if ('asset' in outcome) {
      line.persisted(outcome.asset, outcome.recorded_at);
      // Closed while it copied, by a signal the recording did not see (an operator's, or an
      // order closed just after the asset was recorded): the line ends withheld all the same.
      const reason = closing();
      return reason ? close(reason) : line.view;
    }
    // A line closed while it failed is closed, not failed: it waits for no retry.
    if ('closing' in outcome) return close(outcome.closing);

    const { failure, job_id } = outcome;
    // Cleared before the failure is recorded: a retry sent from then on is never lost.
    retryRequested = false;
    recordingFailure = true;
    const recorded = await recordFailure(input, { attempt, ...failure }, job_id);
    recordingFailure = false;
    line.failed(failure, new Date(Date.now() + RETRY_WINDOW_MS), recorded.line_updated_at);

    const woken = await condition(() => retryRequested || closing() !== undefined, RETRY_WINDOW_MS, {
      summary: 'Wait for an operator retry',
    });
    const reason = closing();
    if (reason) return close(reason);
    if (!woken) return line.view;
    const reopened = await reopenLine(input, { attempt: attempt + 1, reason_code: failure.reason_code });
    // Closed by its order just as the retry came: the closure wins.
    if (reopened.line_updated_at === null) return close(closing() ?? 'operator');
    line.processing(reopened.line_updated_at);
    // A line retried again and again would outgrow its history: Temporal says when, and the
    // next attempt goes on in a new run of the same workflow id, its search attributes kept.
    if (workflowInfo().continueAsNewSuggested && closing() === undefined) {
      await continueAsNew<typeof FulfillOrderLine>(input, { attempt: attempt + 1 });
    }
  }

  /** Ends the line closed, as the database has it (`withheld` when its asset exists). */
  async function close(reason: CloseReason): Promise<LineStatusView> {
    const closed = await closeLine(input, reason);
    line.closed(closed.status, line.view.final_asset, closed.line_updated_at);
    return line.view;
  }

  async function attemptFulfillment(): Promise<
    | { asset: FinalAsset; recorded_at: RecordedAt; withheld?: true }
    | { failure: LineFailure; job_id: string | null }
    | { closing: CloseReason }
  > {
    let preview: PreviewRef | undefined;
    try {
      preview = await awaitReadyPreview();
      if (!preview || closing()) return { closing: closing() ?? 'operator' };
      const { line_updated_at, withheld, ...asset } = await persistPreview(input, preview);
      return { asset, recorded_at: line_updated_at, ...(withheld ? { withheld } : {}) };
    } catch (error) {
      const failure = asLineFailure(error);
      const reason = closing();
      if (reason) return { closing: reason };
      const jobId = preview?.job_id ?? failure.details.job_id;
      return { failure, job_id: typeof jobId === 'string' ? jobId : null };
    }
  }

  /** Resolves the preview; while it renders, waits durably up to the configured time (undefined: closed meanwhile). */
  async function awaitReadyPreview(): Promise<PreviewRef | undefined> {
    let deadline: number | undefined;
    for (;;) {
      if (closing()) return undefined;
      previewPosted = false;
      const resolution = firstLook ?? (await resolvePreview(input));
      firstLook = undefined;
      if (resolution.state === 'ready') {
        if (line.view.status === 'waiting_for_preview') {
          const marked = await markLineWorking(input, 'processing');
          // The row was left alone: the order closed the line as it woke (its signal is on the
          // way), and a closed line copies nothing.
          if (marked.line_updated_at === null) return undefined;
          line.processing(marked.line_updated_at);
        }
        return resolution.preview;
      }
      deadline ??= Date.now() + previewWaitSeconds * 1000;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new LineFailed({
          reason_code: 'preview_not_ready',
          message: `preview job ${resolution.job_id} was still rendering after ${previewWaitSeconds} s`,
          details: { job_id: resolution.job_id },
        });
      }
      if (line.view.status !== 'waiting_for_preview') {
        const marked = await markLineWorking(input, 'waiting_for_preview');
        line.waitingForPreview(resolution.job_id, new Date(deadline), marked.line_updated_at);
      }
      const pollMs = Math.min(PREVIEW_POLL_MAX_MS, Math.max(PREVIEW_POLL_MIN_MS, (previewWaitSeconds * 1000) / PREVIEW_LOOKS_PER_WAIT));
      await condition(() => previewPosted || closing() !== undefined, Math.min(remaining, pollMs), {
        summary: 'Wait for the preview to finish rendering',
      });
    }
  }
}

function parseInput<T>(schema: z.ZodType<T>, rawInput: unknown): T {
  const parsed = schema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid FulfillOrderLine input: ${parsed.error.message}`, 'invalid_input');
  }
  return parsed.data;
}
