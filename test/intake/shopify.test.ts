import { describe, expect, it } from 'vitest';
import { hasShopifyHmacShape, parseOrderPayload, verifyShopifyHmac } from '../../src/intake/shopify.js';
import { linePersonalizationIdSchema, personalizationIdSchema } from '../../src/domain/ids.js';
import { AppError } from '../../src/services/errors.js';
import { hmac } from '../support/fixtures.js';

const order = (lineItems: string) => Buffer.from(`{"id": 820982911946154508, "line_items": [${lineItems}]}`);

describe('verifyShopifyHmac', () => {
  const body = Buffer.from('{"id":1}');
  it('accepts any configured secret and nothing else', () => {
    expect(verifyShopifyHmac(body, hmac(body, 'b'), ['a', 'b'])).toBe(true);
    expect(verifyShopifyHmac(body, hmac(body, 'c'), ['a', 'b'])).toBe(false);
    expect(verifyShopifyHmac(body, undefined, ['a'])).toBe(false);
    expect(verifyShopifyHmac(body, hmac(body, 'a'), [])).toBe(false);
    expect(verifyShopifyHmac(Buffer.from('{"id":2}'), hmac(body, 'a'), ['a'])).toBe(false);
    // Only the exact base64 text: no lenient decoding of a longer or altered header.
    expect(verifyShopifyHmac(body, `${hmac(body, 'a')}AAAA`, ['a'])).toBe(false);
    expect(verifyShopifyHmac(body, hmac(body, 'a').replace(/=$/, ''), ['a'])).toBe(false);
  });
});

describe('hasShopifyHmacShape', () => {
  it('takes only the base64 of 32 bytes, one header', () => {
    const signature = hmac('{}', 'a');
    expect(hasShopifyHmacShape(signature)).toBe(true);
    for (const header of [
      undefined,
      '',
      'x',
      signature.slice(0, -1),
      `${signature}A`,
      signature.replace(/=$/, 'A'),
      `${signature.slice(0, -2)}*=`,
    ]) {
      expect(hasShopifyHmacShape(header), String(header)).toBe(false);
    }
    expect(hasShopifyHmacShape([signature, signature])).toBe(false);
  });
});

describe('parseOrderPayload', () => {
  it('keeps ids above 2^53 exact', () => {
    const parsed = parseOrderPayload(order('{"id": 866550311766439020, "properties": [{"name": "_personalization_id", "value": "p-1"}]}'));
    expect(parsed).toEqual({
      order_id: '820982911946154508',
      personalized: [{ order_line_id: '866550311766439020', personalization_id: 'p-1' }],
      ignored: [],
    });
  });

  it('ignores odd line items with a reason instead of failing, and keeps every personalized one', () => {
    const parsed = parseOrderPayload(
      order(
        [
          '{"id": 11, "properties": {"personalization_id": "p"}}',
          '{"id": 12, "properties": [null, 3, "x", {"name": 5, "value": "p"}, {"name": "personalization_id", "value": 42}]}',
          '{"id": 13, "properties": [{"name": "personalization_id", "value": " "}]}',
          '{"id": 14, "properties": [{"name": "personalization_id", "value": "has space"}]}',
          '{"id": 15, "properties": [{"name": "personalization_id", "value": "x".repeat}]}'.replace('"x".repeat', `"${'x'.repeat(201)}"`),
          '{"id": 16, "properties": [{"name": "personalization_id", "value": "same"}, {"name": "_personalization_id", "value": "same"}]}',
          '{"id": 17, "properties": [{"name": "personalization_id", "value": "real"}, {"name": "_personalization_id", "value": "  "}]}',
          '{"id": 16, "properties": [{"name": "personalization_id", "value": "again"}]}',
          '{"id": -3}',
          '{"id": 1.5e3}',
          '"not an object"',
          'null',
        ].join(','),
      ),
    );
    expect(parsed.personalized).toEqual([
      { order_line_id: '13', personalization_id: ' ' },
      { order_line_id: '14', personalization_id: 'has space' },
      { order_line_id: '15', personalization_id: 'x'.repeat(201) },
      { order_line_id: '16', personalization_id: 'same' },
      { order_line_id: '17', personalization_id: 'real' },
    ]);
    expect(parsed.ignored).toEqual([
      { order_line_id: '11', reason: 'not_personalized' },
      { order_line_id: '12', reason: 'not_personalized' },
      { order_line_id: '16', reason: 'duplicate_line_item' },
      { order_line_id: '-3', reason: 'invalid_line_item_id' },
      { order_line_id: '1.5e3', reason: 'invalid_line_item_id' },
      { order_line_id: '', reason: 'invalid_line_item_id' },
      { order_line_id: '', reason: 'invalid_line_item_id' },
    ]);
  });

  it('keeps a line whose personalization can name no preview, in a form every store can hold', () => {
    const values = [
      ['one id', 'p-1'],
      ['one id with a lone surrogate, as every store keeps it', 'p-\ud800'],
      ['control characters, NUL as SUB', 'a\tb\u0000c'],
      ['two different ids, one per line', 'one', 'two'],
      ['too long, cut', 'y'.repeat(600)],
      ['too long, cut before a surrogate pair', `${'y'.repeat(253)}😀${'y'.repeat(10)}`],
      ['too long in control characters, cut', '\u0001'.repeat(600)],
    ];
    const parsed = parseOrderPayload(
      order(
        values
          .map(([, ...ids], index) => {
            const names = ['personalization_id', '_personalization_id'];
            const properties = ids.map((value, n) => ({ name: names[n], value }));
            return JSON.stringify({ id: index + 1, properties });
          })
          .join(','),
      ),
    );
    const ids = parsed.personalized.map((line) => line.personalization_id);
    expect(ids).toEqual([
      'p-1',
      'p-\ufffd',
      'a\tb\u001ac',
      'one\ntwo',
      `${'y'.repeat(254)}…`,
      `${'y'.repeat(253)}…`,
      `${'\u0001'.repeat(254)}…`,
    ]);
    // Only the usable ones can name a preview; every one fits a line's input and a Keyword
    // search attribute (at most 2 KiB of JSON).
    expect(ids.map((id) => personalizationIdSchema.safeParse(id).success)).toEqual([true, true, false, false, false, false, false]);
    for (const id of ids) {
      expect(linePersonalizationIdSchema.parse(id)).toBe(id);
      expect(Buffer.byteLength(JSON.stringify(id))).toBeLessThanOrEqual(2048);
    }
  });

  it('reads cancelled_at: an order Shopify had cancelled says so, an open one (null or absent) does not', () => {
    const body = (cancelledAt: string) => Buffer.from(`{"id": 820982911946154508, "cancelled_at": ${cancelledAt}, "line_items": []}`);
    expect(parseOrderPayload(body('"2026-12-06T10:00:00-05:00"')).cancelled_at).toEqual(new Date('2026-12-06T15:00:00Z'));
    expect(parseOrderPayload(body('null')).cancelled_at).toBeUndefined();
    expect(parseOrderPayload(order('')).cancelled_at).toBeUndefined();
    // Neither null nor a time: whether the order was cancelled cannot be told, so nothing may start.
    for (const value of ['12', '"yesterday"', '""', 'true', '{}', '"2026-12-06"']) {
      expect(() => parseOrderPayload(body(value)), value).toThrow(
        expect.objectContaining({ httpStatusCode: 400, code: 'invalid_payload' }) as AppError,
      );
    }
  });

  it('rejects what is not an order', () => {
    for (const body of [
      '',
      '{',
      'null',
      '[]',
      '"x"',
      '{"line_items": []}',
      '{"id": "abc"}',
      '{"id": 1, "line_items": 7}',
      '['.repeat(100_000),
    ]) {
      expect(() => parseOrderPayload(Buffer.from(body)), body.slice(0, 20)).toThrow(
        expect.objectContaining({ httpStatusCode: 400, code: 'invalid_payload' }) as AppError,
      );
    }
  });
});
