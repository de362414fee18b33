import type { LineIdentity } from '../domain/line-identity.js';
import { finalAssetKey, fulfillmentWorkflowId } from '../domain/ids.js';
import type { ClosedStatus, CloseReason } from '../domain/line-status.js';
import type { ReasonCode } from '../domain/reasons.js';
import { TELEMETRY_EVENTS } from './events.js';
import type { Telemetry, TelemetryEvent } from './telemetry.js';

/** A line's event and what it adds to the line's properties. */
export type FulfillmentEvent =
  | { name: typeof TELEMETRY_EVENTS.started; attempt: number }
  | { name: typeof TELEMETRY_EVENTS.retryRequested; attempt: number; reason_code?: ReasonCode }
  | { name: typeof TELEMETRY_EVENTS.assetFailed; attempt: number; reason_code: ReasonCode; job_id: string | null }
  | { name: typeof TELEMETRY_EVENTS.assetPersisted; job_id: string; sha256: string; size_bytes: number }
  | { name: typeof TELEMETRY_EVENTS.lineCancelled | typeof TELEMETRY_EVENTS.assetWithheld; closure_reason: CloseReason | null };

/**
 * Who emits an event: the workflow run (part of the event's key) and, when the event may be
 * sent more than once, a time that stays the same for every send.
 */
export interface EventOrigin {
  runId: string;
  occurredAt?: Date;
}

/**
 * The idempotency key of an event: a retried activity sends the same event id, and a line
 * announces its persisted asset once, whatever run persisted it, and its closure once, whoever
 * closed it (the intake, or the line's workflow).
 */
function idempotencyKey(line: LineIdentity, runId: string, event: FulfillmentEvent): string {
  if (event.name === TELEMETRY_EVENTS.assetPersisted) return `${finalAssetKey(line)}:persisted`;
  if (!('attempt' in event)) return `${fulfillmentWorkflowId(line)}:${event.name}`;
  return `${fulfillmentWorkflowId(line)}:${runId}:${event.attempt}:${event.name}`;
}

/** The PostHog event of a line: its properties and its deterministic id. */
export function fulfillmentEvent({ runId, occurredAt }: EventOrigin, line: LineIdentity, event: FulfillmentEvent): TelemetryEvent {
  const { name, ...extra } = event;
  return {
    name,
    idempotency_key: idempotencyKey(line, runId, event),
    ...(occurredAt ? { occurred_at: occurredAt } : {}),
    properties: {
      shop_id: line.shop_id,
      order_id: line.order_id,
      order_line_id: line.order_line_id,
      personalization_id: line.personalization_id,
      workflow_id: fulfillmentWorkflowId(line),
      job_id: null,
      ...extra,
    },
  };
}

/** The event of a line's closure: `fulfillment.asset.withheld` once its asset exists, `fulfillment.line.cancelled` before. */
export const closureEvent = (status: ClosedStatus, reason: CloseReason | null): FulfillmentEvent => ({
  name: status === 'withheld' ? TELEMETRY_EVENTS.assetWithheld : TELEMETRY_EVENTS.lineCancelled,
  closure_reason: reason,
});

/** Telemetry never fails a fulfillment: the client swallows delivery errors. */
export async function emitFulfillmentEvent(
  telemetry: Telemetry,
  origin: EventOrigin,
  line: LineIdentity,
  event: FulfillmentEvent,
): Promise<void> {
  await telemetry.capture(fulfillmentEvent(origin, line, event));
}
