import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventUuid } from '../../src/telemetry/events.js';
import { uuidV5 } from '../../src/telemetry/uuid-v5.js';

// Version nibble 5, variant bits 10xx.
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV5', () => {
  it('matches the RFC 4122 algorithm (vectors from Python uuid.uuid5)', () => {
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidV5('https://example.com/x', '6ba7b811-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '49517db3-5541-5e91-9cd4-395dd68a97ac',
    );
  });

  it('rejects a namespace that is not a UUID', () => {
    expect(() => uuidV5('name', 'not-a-uuid')).toThrow(TypeError);
  });
});

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

  // Pinned: a changed namespace would give events retried across a deploy a new uuid.
  it('keeps the uuids of events already sent', () => {
    expect(eventUuid('acme.myshopify.com:9007199254740993:fulfillment:run-1:1:fulfillment.started')).toBe(
      '6bf34062-d0c4-5c6e-85e2-58e2733bf774',
    );
  });
});
