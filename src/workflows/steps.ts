import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { FulfillmentActivities } from '../activities/index.js';
import type { LineFailure } from '../domain/errors.js';
import { isReasonCode, type ReasonCode } from '../domain/reasons.js';

// The steps of `FulfillOrderLine` as the workflow calls them (each with its summary in the
// Temporal UI), and the one place their failures become the line's failure.

/**
 * How a kind of step runs, and which line failure it becomes once its retries are spent.
 * Database steps retry for as long as an outage lasts, so only a bug exhausts them.
 */
interface Step {
  options: ActivityOptions;
  exhausted?: { reason_code: ReasonCode; because: string };
}

const bookkeeping: Step = {
  options: { startToCloseTimeout: '30s', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } },
};

/** Storage steps stream whole files: heartbeats catch a dead worker; a storage that stays down fails the line. */
const STORAGE_ATTEMPTS = 10;
const streaming: Step = {
  options: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: STORAGE_ATTEMPTS },
  },
  exhausted: { reason_code: 'asset_inaccessible', because: `storage did not answer after ${STORAGE_ATTEMPTS} attempts` },
};

type Activities = FulfillmentActivities;
type AnyActivity = (...args: unknown[]) => Promise<unknown>;

function step<K extends keyof Activities>(name: K, { options, exhausted }: Step, summary: string): Activities[K] {
  const run = proxyActivities<Activities>({ ...options, summary })[name] as AnyActivity;
  if (!exhausted) return run as unknown as Activities[K];
  const guarded: AnyActivity = async (...args) => {
    try {
      return await run(...args);
    } catch (error) {
      throw error instanceof ActivityFailure && !reasonCoded(error) ? new LineFailed(exhaustedFailure(exhausted, error)) : error;
    }
  };
  return guarded as unknown as Activities[K];
}

export const beginFulfillment = step('beginFulfillment', bookkeeping, 'Open the line (or find its asset)');
export const resolvePreview = step('resolvePreview', bookkeeping, 'Resolve personalization_id to its preview');
export const markLineWorking = step('markLineWorking', bookkeeping, 'Record the line status');
export const verifyPreview = step('verifyPreview', streaming, 'Verify the preview: image, size, sha256');
export const persistFinalAsset = step('persistFinalAsset', streaming, 'Copy to the print bucket and record the asset');
export const recordFailure = step('recordFailure', bookkeeping, 'Record the failure with its guidance');
export const emitEvent = step('emitEvent', bookkeeping, 'Report to PostHog');

/** The line's own failure, raised in the workflow: the preview wait ran out, or storage never answered. */
export class LineFailed extends Error {
  constructor(readonly failure: LineFailure) {
    super(failure.message);
  }
}

/** An activity's report of the line's own failure: an ApplicationFailure whose type is the reason code. */
function reasonCoded(error: ActivityFailure): (ApplicationFailure & { type: ReasonCode }) | undefined {
  const cause = error.cause;
  return cause instanceof ApplicationFailure && isReasonCode(cause.type) ? (cause as ApplicationFailure & { type: ReasonCode }) : undefined;
}

const exhaustedFailure = ({ reason_code, because }: NonNullable<Step['exhausted']>, error: ActivityFailure): LineFailure => ({
  reason_code,
  message: `${because}: ${error.cause?.message ?? error.message}`,
  details: {},
});

/**
 * The one place a thrown error becomes the line's failure: a reason-coded failure of an
 * activity, or one the workflow raised. Anything else (only a bug gets here) fails the workflow.
 */
export function asLineFailure(error: unknown): LineFailure {
  if (error instanceof LineFailed) return error.failure;
  const cause = error instanceof ActivityFailure ? reasonCoded(error) : undefined;
  if (cause) {
    const [details] = cause.details ?? [];
    return { reason_code: cause.type, message: cause.message, details: (details ?? {}) as Record<string, unknown> };
  }
  throw error;
}
