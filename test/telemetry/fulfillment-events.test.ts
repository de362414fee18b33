import { describe, expect, it } from 'vitest';
import { eventUuid } from '../../src/telemetry/events.js';
import { fulfillmentEvent } from '../../src/telemetry/fulfillment-events.js';

const line = {
  shop_id: 'acme.myshopify.com',
  order_id: '820982911946154508',
  order_line_id: '9007199254740993',
  personalization_id: 'pers-42',
};

describe('fulfillmentEvent', () => {
  it('carries the line, its workflow and what the event adds, with a key that names run, attempt and event', () => {
    const event = fulfillmentEvent({ runId: 'run-1' }, line, {
      name: 'fulfillment.asset.failed',
      attempt: 2,
      reason_code: 'asset_missing',
      job_id: 'job-7',
    });
    expect(event).toEqual({
      name: 'fulfillment.asset.failed',
      idempotency_key: 'acme.myshopify.com:9007199254740993:fulfillment:run-1:2:fulfillment.asset.failed',
      properties: {
        ...line,
        workflow_id: 'acme.myshopify.com:9007199254740993:fulfillment',
        job_id: 'job-7',
        attempt: 2,
        reason_code: 'asset_missing',
      },
    });
  });

  it('announces a persisted asset once per line, whatever run persisted it', () => {
    const persisted = { name: 'fulfillment.asset.persisted', job_id: 'job-7', sha256: 'ab', size_bytes: 3 } as const;
    const first = fulfillmentEvent({ runId: 'run-1' }, line, persisted);
    expect(fulfillmentEvent({ runId: 'run-2' }, line, persisted).idempotency_key).toBe(first.idempotency_key);
    // The id PostHog deduplicates by, pinned: it must not change across a deploy.
    expect(eventUuid(first.idempotency_key)).toBe('994da6e6-c028-52eb-8744-e49260e503ea');
  });

  it('keeps the time it is given, so a resend on another day folds into the first', () => {
    const occurredAt = new Date('2026-11-29T23:59:58Z');
    expect(fulfillmentEvent({ runId: 'r', occurredAt }, line, { name: 'fulfillment.started', attempt: 1 }).occurred_at).toBe(occurredAt);
  });
});
