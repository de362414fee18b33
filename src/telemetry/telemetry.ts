import type {
  FulfillmentEventProperties,
  OrderEventProperties,
  PrivacyEventProperties,
  ReconcileEventProperties,
  TelemetryEventName,
} from './events.js';

export interface TelemetryEvent {
  name: TelemetryEventName;
  /** Identifies the occurrence: a retry of the same step must reuse it (the event's uuid comes from it). */
  idempotency_key: string;
  properties: FulfillmentEventProperties | PrivacyEventProperties | OrderEventProperties | ReconcileEventProperties;
  /**
   * When it happened; defaults to the moment of capture. PostHog folds duplicates that share
   * uuid, name, distinct_id and the day of this timestamp, so a step that may be retried on
   * another day can pass a time that stays the same across attempts.
   */
  occurred_at?: Date;
}

/** Product analytics. Implementations never throw: telemetry must not fail a fulfillment. */
export interface Telemetry {
  /** The returned promise, if any, settles once the event was handed off or given up on. */
  capture(event: TelemetryEvent): void | Promise<void>;
  /** Sends what is still pending, within a bounded time. */
  shutdown(): Promise<void>;
}

/** Used when no PostHog key is configured: telemetry is off. */
export class NoopTelemetry implements Telemetry {
  capture(): void {
    // Telemetry is off: the event goes nowhere.
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
