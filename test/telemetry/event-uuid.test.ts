import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventUuid } from '../../src/telemetry/events.js';

// Version nibble 5, variant bits 10xx.
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('eventUuid', () => {
  it('is a version 5, RFC 4122 variant UUID for any key', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (key) => UUID_V5.test(eventUuid(key))));
  });

  it('gives a key the same uuid every time, and distinct keys distinct uuids', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 2, maxLength: 20 }), (keys) => {
        const uuids = keys.map(eventUuid);
        expect(keys.map(eventUuid)).toEqual(uuids);
        expect(new Set(uuids).size).toBe(keys.length);
      }),
    );
  });

  // Pinned, computed by the hand-written RFC 4122 code the uuid library replaced: a changed
  // namespace or algorithm would give events retried across a deploy a new uuid.
  it('keeps the uuids of events already sent', () => {
    expect(eventUuid('acme.myshopify.com:9007199254740993:fulfillment:run-1:1:fulfillment.started')).toBe(
      '6bf34062-d0c4-5c6e-85e2-58e2733bf774',
    );
    expect(eventUuid('acme.myshopify.com:9007199254740993:final_asset:persisted')).toBe('994da6e6-c028-52eb-8744-e49260e503ea');
    expect(eventUuid('')).toBe('d918c4dd-4059-5a5e-b59d-fe86fa72d82b');
    expect(eventUuid('ünïcödé ✓ 𝄞')).toBe('6cc157ae-3daa-5804-b9fa-cd7170aa5251');
  });
});
