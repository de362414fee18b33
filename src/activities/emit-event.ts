import { finalAssetKey, fulfillmentWorkflowId } from '../domain/ids.js';
import type { FulfillmentInput } from '../domain/fulfillment-input.js';
import type { ReasonCode } from '../domain/reasons.js';
import type { Telemetry } from '../telemetry/telemetry.js';

export type FulfillmentEvent =
  | { name: 'fulfillment.started'; attempt: number }
  | { name: 'fulfillment.retry_requested'; attempt: number; reason_code?: ReasonCode }
  | { name: 'fulfillment.asset.failed'; attempt: number; reason_code: ReasonCode; job_id: string | null }
  | { name: 'fulfillment.asset.persisted'; job_id: string; sha256: string; size_bytes: number };

/**
 * The idempotency key of an event: a retried activity sends the same event id, and a line
 * announces its persisted asset once, whatever run persisted it.
 */
const idempotencyKey = (input: FulfillmentInput, runId: string, event: FulfillmentEvent): string =>
  event.name === 'fulfillment.asset.persisted'
    ? `${finalAssetKey(input)}:persisted`
    : `${fulfillmentWorkflowId(input)}:${runId}:${event.attempt}:${event.name}`;

/**
 * Who emits an event: the workflow run (part of the event's key) and, when the event may be
 * sent more than once, a time that stays the same for every send.
 */
export interface EventOrigin {
  runId: string;
  occurredAt?: Date;
}

/** Telemetry never fails a fulfillment: the client swallows delivery errors. */
export async function emitEvent(
  telemetry: Telemetry,
  { runId, occurredAt }: EventOrigin,
  input: FulfillmentInput,
  event: FulfillmentEvent,
): Promise<void> {
  const { name, ...extra } = event;
  await telemetry.capture({
    name,
    idempotency_key: idempotencyKey(input, runId, event),
    ...(occurredAt ? { occurred_at: occurredAt } : {}),
    properties: {
      shop_id: input.shop_id,
      order_id: input.order_id,
      order_line_id: input.order_line_id,
      personalization_id: input.personalization_id,
      workflow_id: fulfillmentWorkflowId(input),
      job_id: null,
      ...extra,
    },
  });
}
