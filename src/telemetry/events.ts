import { v5 as uuidV5 } from 'uuid';
import type { LineIdentity } from '../domain/line-identity.js';
import type { CloseReason } from '../domain/line-status.js';
import type { ReasonCode } from '../domain/reasons.js';

/** The contract's PostHog events, named `domain.action`. */
export const TELEMETRY_EVENTS = {
  started: 'fulfillment.started',
  assetPersisted: 'fulfillment.asset.persisted',
  assetFailed: 'fulfillment.asset.failed',
  retryRequested: 'fulfillment.retry_requested',
  lineCancelled: 'fulfillment.line.cancelled',
  assetWithheld: 'fulfillment.asset.withheld',
  dataRequestRecorded: 'privacy.data_request.recorded',
  redactionCompleted: 'privacy.redaction.completed',
  orderReadyForPrint: 'order.ready_for_print',
  orderEventDeliveryFailed: 'order.event.delivery_failed',
  reconcileCompleted: 'reconcile.completed',
} as const;

export type TelemetryEventName = (typeof TELEMETRY_EVENTS)[keyof typeof TELEMETRY_EVENTS];

/** What every event carries so it can be joined to the order line, its workflow and its preview. */
export interface FulfillmentEventProperties extends LineIdentity {
  /** The preview job once it is resolved; null before that, or when no job exists. */
  job_id: string | null;
  workflow_id: string;
  /** Set on `fulfillment.asset.failed`, and on a retry of a failed line. */
  reason_code?: ReasonCode;
  attempt?: number;
  sha256?: string;
  size_bytes?: number;
  /** Set on a line's closure when known: `order_cancelled`, `line_refunded` or `operator`. */
  closure_reason?: CloseReason | null;
}

/** A privacy event's properties: the shop and counts only, never an id of what was erased nor a customer's contact. */
export interface PrivacyEventProperties {
  shop_id: string;
  kind?: 'customer' | 'shop';
  orders?: number;
  lines?: number;
  orders_redacted?: number;
  lines_redacted?: number;
  objects_deleted?: number;
}

/** What an order's event carries: the order, and the print-side event it is about. */
export interface OrderEventProperties {
  shop_id: string;
  order_id: string;
  /** The print-side event's id (`X-Printready-Event-Id`) and its `DeliverOrderEvent` workflow. */
  event_id: string;
  event_type: string;
  workflow_id: string;
  /** order.ready_for_print: how many lines it hands to print. */
  lines_to_print?: number;
}

/**
 * Fixed for the life of the project: changing it changes every event id, and events retried
 * across such a deploy would be counted twice.
 */
const EVENT_UUID_NAMESPACE = '384d8cc4-57e8-4d94-b18b-2e9fdc93994f';

/**
 * The event's PostHog `uuid` (RFC 4122 version 5), derived from its idempotency key. A retried
 * activity sends the same uuid again, and PostHog keeps one event per uuid instead of counting the retry.
 */
export const eventUuid = (idempotencyKey: string): string => uuidV5(idempotencyKey, EVENT_UUID_NAMESPACE);

/** What `reconcile.completed` carries: counts only, no order ids. */
export interface ReconcileEventProperties {
  shop_id: string;
  reconcile_id: string;
  kind: 'sweep' | 'order';
  orders_seen: number;
  lines_started: number;
  orders_cancelled: number;
}
