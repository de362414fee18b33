import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { FulfillmentActivities } from '../activities/index.js';
import type { LineFailure } from '../domain/errors.js';
import { isReasonCode, type ReasonCode } from '../domain/reasons.js';

// The steps of `FulfillOrderLine` as the workflow calls them (each with its summary in the
// Temporal UI), and the one place their failures become the line's failure.

/**
 * How a kind of step runs, and which line failure it becomes once its retries are spent.
 * Database steps are local activities, run in the workflow's own task, a marker each in the
 * history; they retry for as long as an outage lasts, so only a bug exhausts them.
 */
type Step = { local: LocalActivityOptions } | { remote: ActivityOptions; exhausted: { reason_code: ReasonCode; because: string } };

const bookkeeping: Step = {
  local: { startToCloseTimeout: '30s', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } },
};

/** Storage steps stream whole files: heartbeats catch a dead worker; a storage that stays down fails the line. */
const STORAGE_ATTEMPTS = 10;
const streaming: Step = {
  remote: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: STORAGE_ATTEMPTS },
  },
  exhausted: { reason_code: 'asset_inaccessible', because: `storage did not answer after ${STORAGE_ATTEMPTS} attempts` },
};

type Activities = FulfillmentActivities;
type AnyActivity = (...args: unknown[]) => Promise<unknown>;

function step<K extends keyof Activities>(name: K, kind: Step, summary: string): Activities[K] {
  if ('local' in kind) return proxyLocalActivities<Activities>({ ...kind.local, summary })[name];
  const run = proxyActivities<Activities>({ ...kind.remote, summary })[name] as AnyActivity;
  const guarded: AnyActivity = async (...args) => {
    try {
      return await run(...args);
    } catch (error) {
      throw error instanceof ActivityFailure && !reasonCoded(error) ? new LineFailed(exhaustedFailure(kind.exhausted, error)) : error;
    }
  };
  return guarded as unknown as Activities[K];
}

export const openLine = step('openLine', bookkeeping, 'Open the line (or find its asset) and look up its preview');
export const resolvePreview = step('resolvePreview', bookkeeping, 'Resolve personalization_id to its preview');
export const markLineWorking = step('markLineWorking', bookkeeping, 'Record the line status');
export const reopenLine = step('reopenLine', bookkeeping, 'Reopen the line for the retry');
export const persistPreview = step(
  'persistPreview',
  streaming,
  'Verify the preview (image, size, sha256), copy it to the print bucket, record the asset',
);
export const recordFailure = step('recordFailure', bookkeeping, 'Record the failure with its guidance');
export const closeLine = step('closeLine', bookkeeping, 'Close the line: its order was cancelled or the line refunded');

/** The line's own failure, raised in the workflow: the preview wait ran out, or storage never answered. */
export class LineFailed extends Error {
  constructor(readonly failure: LineFailure) {
    super(failure.message);
  }
}

/**
 * An activity's report of the line's own failure: an ApplicationFailure whose type is the reason
 * code, wrapped in an ActivityFailure (a local activity's arrives unwrapped).
 */
function reasonCoded(error: unknown): (ApplicationFailure & { type: ReasonCode }) | undefined {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure && isReasonCode(failure.type)
    ? (failure as ApplicationFailure & { type: ReasonCode })
    : undefined;
}

const exhaustedFailure = ({ reason_code, because }: { reason_code: ReasonCode; because: string }, error: ActivityFailure): LineFailure => ({
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
  const cause = reasonCoded(error);
  if (cause) {
    const [details] = cause.details ?? [];
    return { reason_code: cause.type, message: cause.message, details: (details ?? {}) as Record<string, unknown> };
  }
  throw error;
}
