import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventUuid, TELEMETRY_EVENTS } from '../../src/telemetry/events.js';
import { PostHogTelemetry, type PostHogTelemetryOptions } from '../../src/telemetry/posthog-telemetry.js';
import type { TelemetryEvent } from '../../src/telemetry/telemetry.js';
import { PostHogStandIn } from '../support/posthog-stand-in.js';
import { API_KEY, lineProperties, recordingLogger, type RecordingLogger } from './fixtures.js';

const started = (idempotencyKey: string): TelemetryEvent => ({
  name: TELEMETRY_EVENTS.started,
  idempotency_key: idempotencyKey,
  properties: { ...lineProperties, attempt: 1 },
});

/** Resolves with how long `promise` took; rejects if it rejects. */
const elapsedMs = async (promise: Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await promise;
  return performance.now() - start;
};

describe('PostHogTelemetry against a PostHog stand-in', () => {
  let standIn: PostHogStandIn;
  let logger: RecordingLogger;
  let telemetry: PostHogTelemetry;

  const connect = (options: Partial<PostHogTelemetryOptions> = {}): void => {
    telemetry = new PostHogTelemetry({ apiKey: API_KEY, host: standIn.host, logger, ...options });
  };

  beforeEach(async () => {
    standIn = await PostHogStandIn.start();
    logger = recordingLogger();
    connect();
  });

  afterEach(async () => {
    await telemetry.shutdown();
    await standIn.close();
  });

  it('has handed each contract event to PostHog by the time capture resolves', async () => {
    const events: TelemetryEvent[] = [
      started('k-started'),
      {
        name: TELEMETRY_EVENTS.assetPersisted,
        idempotency_key: 'k-persisted',
        properties: { ...lineProperties, sha256: 'ab'.repeat(32), size_bytes: 1234 },
      },
      {
        name: TELEMETRY_EVENTS.assetFailed,
        idempotency_key: 'k-failed',
        properties: { ...lineProperties, job_id: null, reason_code: 'asset_missing', attempt: 2 },
      },
      { name: TELEMETRY_EVENTS.retryRequested, idempotency_key: 'k-retry', properties: lineProperties },
    ];

    for (const event of events) await telemetry.capture(event);

    expect(standIn.events()).toHaveLength(events.length);
    for (const [index, sent] of events.entries()) {
      expect(standIn.events()[index]).toMatchObject({
        api_key: API_KEY,
        type: 'capture',
        event: sent.name,
        distinct_id: lineProperties.shop_id,
        uuid: eventUuid(sent.idempotency_key),
        properties: sent.properties,
      });
    }
    expect(standIn.events().map((event) => event.event)).toEqual([
      'fulfillment.started',
      'fulfillment.asset.persisted',
      'fulfillment.asset.failed',
      'fulfillment.retry_requested',
    ]);
  });

  it('sends a retried event with the same uuid, so PostHog keeps it once', async () => {
    await telemetry.capture(started('line-1:attempt-1'));
    await telemetry.capture(started('line-1:attempt-1'));
    await telemetry.capture(started('line-1:attempt-2'));

    const [first, retry, next] = standIn.events();
    expect(retry?.uuid).toBe(first?.uuid);
    expect(next?.uuid).not.toBe(first?.uuid);
    expect(standIn.uniqueByUuid()).toHaveLength(2);
  });

  it('stamps the event with occurred_at when given', async () => {
    const occurredAt = new Date('2030-01-02T03:04:05.678Z');
    await telemetry.capture({ ...started('k'), occurred_at: occurredAt });

    expect(standIn.events()[0]?.timestamp).toBe(occurredAt.toISOString());
  });

  it('retries a failed delivery', async () => {
    standIn.failNext(1, 503);

    await telemetry.capture(started('k'));

    expect(standIn.requestCount()).toBe(2);
    expect(standIn.events()).toHaveLength(1);
    expect(logger.warnings).toEqual([]);
  });

  it('resolves and warns, without the api key, when PostHog keeps answering 500', async () => {
    standIn.failNext(100, 500);

    await expect(telemetry.capture(started('k'))).resolves.toBeUndefined();

    expect(standIn.requestCount()).toBeGreaterThan(1);
    expect(standIn.events()).toEqual([]);
    expect(logger.warnings).toEqual([
      { obj: { err: expect.objectContaining({ status: 500 }) as unknown }, msg: 'telemetry event not delivered' },
    ]);
    expect(JSON.stringify(logger.warnings)).not.toContain(API_KEY);
  });

  it('scrubs the api key from what it logs', async () => {
    // A key that occurs in posthog-node's error message stands in for one in a failing URL.
    await telemetry.shutdown();
    logger = recordingLogger();
    telemetry = new PostHogTelemetry({ apiKey: 'fetching', host: standIn.host, logger });
    standIn.failNext(100, 500);

    await telemetry.capture(started('k'));

    expect(logger.warnings).toHaveLength(1);
    expect(JSON.stringify(logger.warnings)).not.toContain('fetching');
  });

  it('resolves and warns when PostHog refuses connections, and delivers again once it is back', async () => {
    await standIn.down('refuse');

    await expect(telemetry.capture(started('while-down'))).resolves.toBeUndefined();
    expect(logger.warnings.map((warning) => warning.msg)).toEqual(['telemetry event not delivered']);
    expect(JSON.stringify(logger.warnings)).not.toContain(API_KEY);

    await standIn.up();
    await telemetry.capture(started('after-up'));
    expect(standIn.events().map((event) => event.uuid)).toEqual([eventUuid('after-up')]);
  });

  it('stops waiting for a hanging PostHog, and shutdown keeps to its bound', async () => {
    await telemetry.shutdown();
    connect({ captureTimeoutMs: 200, shutdownTimeoutMs: 400 });
    await standIn.down('hang');

    const captureMs = await elapsedMs(telemetry.capture(started('k')));
    const shutdownMs = await elapsedMs(telemetry.shutdown());

    expect(captureMs).toBeGreaterThanOrEqual(190);
    expect(captureMs).toBeLessThan(1_000);
    expect(shutdownMs).toBeLessThan(1_200);
    expect(standIn.requestCount()).toBe(1);
    expect(logger.warnings.map((warning) => warning.msg)).toEqual([
      'telemetry event still in flight, delivery continues in the background',
      'telemetry shutdown incomplete',
    ]);
    expect(JSON.stringify(logger.warnings)).not.toContain(API_KEY);
  });

  it('lets shutdown finish a delivery that capture stopped waiting for', async () => {
    await telemetry.shutdown();
    connect({ captureTimeoutMs: 1 });

    await telemetry.capture(started('k'));
    await telemetry.shutdown();

    expect(standIn.events().map((event) => event.uuid)).toEqual([eventUuid('k')]);
  });
});
