import { PostHog } from 'posthog-node';
import { settlesWithin } from '../lib/settles-within.js';
import { eventUuid } from './events.js';
import type { Telemetry, TelemetryEvent } from './telemetry.js';

/** The slice of a pino-style logger that telemetry needs. */
export interface TelemetryLogger {
  warn(obj: object, msg: string): void;
}

export interface PostHogTelemetryOptions {
  apiKey: string;
  host: string;
  logger?: TelemetryLogger | undefined;
  /** How long `capture` waits for delivery before leaving it to the background. */
  captureTimeoutMs?: number;
  /** Upper bound of `shutdown`. */
  shutdownTimeoutMs?: number;
}

// Retrying is safe because a resent event keeps its uuid; a short, small budget keeps an
// unreachable PostHog from holding requests open long after the activity moved on.
const REQUEST_TIMEOUT_MS = 3_000;
const RETRY_COUNT = 2;
const RETRY_DELAY_MS = 250;

/**
 * Sends each event as soon as it is captured (posthog-node's `captureImmediate`) rather than
 * batching it: an activity that emits an event and completes has then handed it off, and a
 * worker that is killed afterwards cannot lose it from an in-memory queue.
 */
export class PostHogTelemetry implements Telemetry {
  readonly #client: PostHog;
  readonly #apiKey: string;
  readonly #logger: TelemetryLogger | undefined;
  readonly #captureTimeoutMs: number;
  readonly #shutdownTimeoutMs: number;

  constructor({ apiKey, host, logger, captureTimeoutMs = 2_000, shutdownTimeoutMs = 5_000 }: PostHogTelemetryOptions) {
    this.#apiKey = apiKey;
    this.#logger = logger;
    this.#captureTimeoutMs = captureTimeoutMs;
    this.#shutdownTimeoutMs = shutdownTimeoutMs;
    this.#client = new PostHog(apiKey, {
      host,
      requestTimeout: REQUEST_TIMEOUT_MS,
      fetchRetryCount: RETRY_COUNT,
      fetchRetryDelay: RETRY_DELAY_MS,
      // Events come from the worker, whose location says nothing about the shop.
      disableGeoip: true,
      // An event is about a kilobyte: gzipping each one (through web streams) cost the worker
      // more CPU than sending it (bench, end to end).
      disableCompression: true,
    });
    // posthog-node reports failed deliveries here instead of rejecting.
    this.#client.on('error', (error: unknown) => this.#warn(error, 'telemetry event not delivered'));
  }

  async capture(event: TelemetryEvent): Promise<void> {
    const uuid = eventUuid(event.idempotency_key);
    const delivery = this.#client
      .captureImmediate({
        distinctId: event.properties.shop_id,
        event: event.name,
        properties: event.properties,
        uuid,
        timestamp: event.occurred_at,
      })
      .catch((error: unknown) => this.#warn(error, 'telemetry event not delivered'));

    // The send is tracked by the client, so `shutdown` still waits for it if we stop waiting here.
    if (!(await settlesWithin(delivery, this.#captureTimeoutMs))) {
      this.#logger?.warn(
        { event: event.name, uuid, timeout_ms: this.#captureTimeoutMs },
        'telemetry event still in flight, delivery continues in the background',
      );
    }
  }

  async shutdown(): Promise<void> {
    try {
      await this.#client.shutdown(this.#shutdownTimeoutMs);
    } catch (error) {
      // posthog-node rejects when its timeout wins; whatever is left unsent is dropped.
      this.#warn(error, 'telemetry shutdown incomplete');
    }
  }

  #warn(error: unknown, msg: string): void {
    this.#logger?.warn({ err: describeError(error, this.#apiKey) }, msg);
  }
}

/**
 * A loggable summary instead of the raw error: posthog-node puts the project key in request
 * bodies and in some URLs, so nothing of a request is logged and messages are scrubbed.
 */
function describeError(error: unknown, apiKey: string): { name?: string; message: string; status?: number } {
  const redact = (text: string): string => text.replaceAll(apiKey, '[redacted]');
  if (!(error instanceof Error)) {
    return { message: redact(String(error)) };
  }
  const status = 'status' in error && typeof error.status === 'number' ? error.status : undefined;
  return { name: error.name, message: redact(error.message), ...(status === undefined ? {} : { status }) };
}
