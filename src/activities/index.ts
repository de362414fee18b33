import { Context } from '@temporalio/activity';
import { setLineWorking } from '../db/repositories/order-lines.js';
import { closeLine } from '../db/repositories/orders.js';
import { recordLineFailure } from '../db/repositories/failures.js';
import type { DatabaseWait } from '../db/while-unavailable.js';
import { FulfillmentError, type LineFailure } from '../domain/errors.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { ClosedStatus, CloseReason, FinalAsset, LineStatus } from '../domain/line-status.js';
import type { ReasonCode } from '../domain/reasons.js';
import type { StreamOptions } from '../storage/object-storage.js';
import { TELEMETRY_EVENTS } from '../telemetry/events.js';
import { lineFailuresTotal, linesTotal } from '../telemetry/metrics/metrics.js';
import { closureEvent, emitFulfillmentEvent, type EventOrigin, type FulfillmentEvent } from '../telemetry/fulfillment-events.js';
import { mapFailures } from './activity-failure.js';
import { beginFulfillment, type LineBegun } from './begin-fulfillment.js';
import type { ActivityDeps } from './deps.js';
import { createOrderEventActivities, orderEventAnnouncer } from './order-events.js';
import { persistFinalAsset } from './persist-final-asset.js';
import { createRedactionActivities } from './redaction.js';
import { createReconcileActivities } from './reconcile.js';
import { resolvePreview } from './resolve-preview.js';
import type { LineRecorded, PreviewRef, PreviewResolution } from './types.js';

export interface FailureToRecord extends LineFailure {
  attempt: number;
}

/**
 * Streams heartbeat their progress, so a dead worker or a stalled stream is noticed and
 * cancellation reaches them: every few MiB, and at a third of the heartbeat timeout when bytes
 * arrive slowly, so slow storage that still delivers is not taken for a stall.
 */
function streamOptions(): StreamOptions {
  const context = Context.current();
  const everyMs = heartbeatEveryMs(context);
  return {
    onProgress: (bytes) => context.heartbeat({ bytes }),
    ...(everyMs ? { progressEveryMs: everyMs } : {}),
    signal: context.cancellationSignal,
  };
}

/** A third of the heartbeat timeout, so that one late heartbeat never times an attempt out. */
const heartbeatEveryMs = (context: Context): number | undefined => {
  const { heartbeatTimeoutMs } = context.info;
  return heartbeatTimeoutMs ? heartbeatTimeoutMs / 3 : undefined;
};

/**
 * Waiting out a database outage inside a streaming activity: heartbeats say so and keep the
 * attempt alive, also through a query that hangs until its timeout; cancellation ends the wait.
 */
function databaseWait(): DatabaseWait {
  const context = Context.current();
  const everyMs = heartbeatEveryMs(context);
  let failed = 0;
  return {
    onWait: (failures, error) => {
      if (failures === 1) context.log.warn('database unavailable, waiting for it', { error: String(error) });
      failed = failures;
      context.heartbeat({ waiting_for: 'database', failures });
    },
    ...(everyMs ? { pulse: { everyMs, beat: () => context.heartbeat({ waiting_for: 'database', failures: failed }) } } : {}),
    signal: context.cancellationSignal,
  };
}

const runId = (): string => {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('FulfillOrderLine activities run inside their workflow');
  return execution.runId;
};

/**
 * An event is stamped with when its activity was first scheduled, the same on every retry:
 * PostHog folds a resent event only when its timestamp falls on the same day.
 */
const eventOrigin = (): EventOrigin => ({ runId: runId(), occurredAt: new Date(Context.current().info.scheduledTimestampMs) });

/** A status change counts once the row says it changed (a persisted line ignores late writes). */
function counted<T extends LineRecorded>(status: LineStatus, result: T): T {
  if (result.line_updated_at !== null) linesTotal.inc({ status });
  return result;
}

/**
 * The activities of `FulfillOrderLine`, bound to this worker's database, storage and telemetry.
 * Each step that commits a change of the line reports it to PostHog itself, after the commit:
 * the event's id is derived from the step, so a retried step sends the same event again.
 */
export function createActivities(deps: ActivityDeps) {
  const { db, storage, telemetry } = deps;
  const report = (line: FulfillmentInput, event: FulfillmentEvent) => emitFulfillmentEvent(telemetry, eventOrigin(), line, event);
  const orderEvents = orderEventAnnouncer(deps);
  /**
   * The preview's first look, made by `openLine`: a step (and a workflow activation) less per
   * line. A lookup that fails the line is left to `resolvePreview`, whose failure the attempt records.
   */
  const firstLook = (input: FulfillmentInput): Promise<PreviewResolution | undefined> =>
    resolvePreview(db, input).catch((error: unknown) => {
      if (error instanceof FulfillmentError) return undefined;
      throw error;
    });
  const activities = {
    /**
     * Opens the line (or finds its asset, or finds it closed); a new line's first run announces
     * it. An open line's preview is looked up too, in the same step.
     */
    openLine: async (
      input: FulfillmentInput,
      announce: boolean,
    ): Promise<LineBegun & { preview?: PreviewResolution; preview_wait_seconds: number }> => {
      // With this worker's `PREVIEW_WAIT_SECONDS`: what a run started without it (by hand) waits.
      const begun = { ...(await beginFulfillment(db, input)), preview_wait_seconds: deps.previewWaitSeconds };
      // An erased order's line is not announced: its events would carry the ids just erased.
      if (begun.redacted) return begun;
      if (begun.closed) {
        if (begun.closed.changed) {
          linesTotal.inc({ status: begun.closed.status });
          await report(input, closureEvent(begun.closed.status, begun.closed.reason));
        }
        await orderEvents.lineSettled(input);
        return begun;
      }
      if (begun.final_asset) return begun;
      if (announce) await report(input, { name: TELEMETRY_EVENTS.started, attempt: 1 });
      const preview = await firstLook(input);
      return counted('processing', { ...begun, ...(preview ? { preview } : {}) });
    },
    /** Closes the line on its `close` signal: `withheld` when its asset exists, `cancelled` otherwise. */
    closeLine: async (input: FulfillmentInput, reason: CloseReason): Promise<{ status: ClosedStatus } & LineRecorded> => {
      const closed = await closeLine(db, input);
      if (closed.changed) {
        linesTotal.inc({ status: closed.status });
        await report(input, closureEvent(closed.status, reason));
      }
      // A refund of the last open line leaves the order ready with its other lines.
      await orderEvents.lineSettled(input);
      return { status: closed.status, line_updated_at: closed.updated_at };
    },
    resolvePreview: (input: FulfillmentInput) => resolvePreview(db, input),
    markLineWorking: async (input: FulfillmentInput, status: 'processing' | 'waiting_for_preview'): Promise<LineRecorded> =>
      counted(status, { line_updated_at: await setLineWorking(db, input, status) }),
    /** An operator's retry: the line works again, and the retry is reported with the failure it answers. */
    reopenLine: async (input: FulfillmentInput, retry: { attempt: number; reason_code: ReasonCode }): Promise<LineRecorded> => {
      const line_updated_at = await setLineWorking(db, input, 'processing');
      await report(input, { name: TELEMETRY_EVENTS.retryRequested, ...retry });
      return counted('processing', { line_updated_at });
    },
    /**
     * Verifies the preview, copies it into the print bucket, records it and reports it: as
     * `withheld` when the line's order was closed while it copied.
     */
    persistPreview: async (input: FulfillmentInput, preview: PreviewRef): Promise<FinalAsset & LineRecorded & { withheld?: true }> => {
      const { line_status, ...recorded } = await persistFinalAsset(
        db,
        storage,
        deps.printBucket,
        input,
        preview,
        streamOptions(),
        databaseWait(),
        Context.current().info.attempt === 1,
      );
      if (line_status === 'withheld') {
        await report(input, closureEvent('withheld', null));
        await orderEvents.lineSettled(input);
        return { ...recorded, withheld: true };
      }
      const { sha256, size_bytes } = recorded;
      await report(input, { name: TELEMETRY_EVENTS.assetPersisted, job_id: preview.job_id, sha256, size_bytes });
      await orderEvents.lineSettled(input);
      return recorded;
    },
    recordFailure: async (input: FulfillmentInput, failure: FailureToRecord, jobId: string | null): Promise<LineRecorded> => {
      const failureKey = `${runId()}:${failure.attempt}`;
      const line_updated_at = await recordLineFailure(db, input, { ...failure, failure_key: failureKey });
      // A failure that changed nothing (the line was persisted or closed meanwhile) needs no one's attention.
      if (line_updated_at !== null) await orderEvents.lineFailed(input, failureKey);
      await report(input, {
        name: TELEMETRY_EVENTS.assetFailed,
        attempt: failure.attempt,
        reason_code: failure.reason_code,
        job_id: jobId,
      });
      if (line_updated_at !== null) lineFailuresTotal.inc({ reason_code: failure.reason_code });
      return counted('failed', { line_updated_at });
    },
    ...createOrderEventActivities(deps),
    ...createReconcileActivities(deps),
  };
  const mapped = Object.fromEntries(
    Object.entries(activities).map(([name, activity]) => [name, mapFailures(activity as (...args: unknown[]) => Promise<unknown>)]),
  ) as typeof activities;
  // A redaction's failures are never a line's: they are retried as they are until it is done.
  return { ...mapped, ...createRedactionActivities(deps) };
}

export type FulfillmentActivities = ReturnType<typeof createActivities>;
