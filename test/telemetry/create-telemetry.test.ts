import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventUuid, TELEMETRY_EVENTS } from '../../src/telemetry/events.js';
import { PostHogTelemetry } from '../../src/telemetry/posthog-telemetry.js';
import { createTelemetry } from '../../src/telemetry/create-telemetry.js';
import { NoopTelemetry, type TelemetryEvent } from '../../src/telemetry/telemetry.js';
import { PostHogStandIn } from '../support/posthog-stand-in.js';
import { API_KEY, lineProperties } from './fixtures.js';

const event: TelemetryEvent = {
  name: TELEMETRY_EVENTS.started,
  idempotency_key: 'k',
  properties: lineProperties,
};

describe('createTelemetry', () => {
  let standIn: PostHogStandIn;

  beforeEach(async () => {
    standIn = await PostHogStandIn.start();
  });

  afterEach(async () => {
    await standIn.close();
  });

  it.each([
    ['no key', undefined],
    ['an empty key', ''],
  ])('turns telemetry off with %s', async (_, apiKey) => {
    const telemetry = createTelemetry({ apiKey, host: standIn.host });

    await telemetry.capture(event);
    await telemetry.shutdown();

    expect(telemetry).toBeInstanceOf(NoopTelemetry);
    expect(standIn.requestCount()).toBe(0);
  });

  it('sends to the configured host with the configured key', async () => {
    const telemetry = createTelemetry({ apiKey: API_KEY, host: standIn.host });

    await telemetry.capture(event);
    await telemetry.shutdown();

    expect(telemetry).toBeInstanceOf(PostHogTelemetry);
    expect(standIn.events()).toMatchObject([{ api_key: API_KEY, uuid: eventUuid('k') }]);
  });
});
