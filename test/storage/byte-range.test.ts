import { describe, expect, it } from 'vitest';
import { parseRangeHeader, resolveByteRange } from '../../src/storage/byte-range.js';

describe('parseRangeHeader', () => {
  it('reads the three forms of a single range', () => {
    expect(parseRangeHeader('bytes=0-99')).toEqual({ first: 0, last: 99 });
    expect(parseRangeHeader('bytes=100-')).toEqual({ first: 100 });
    expect(parseRangeHeader('bytes=-500')).toEqual({ suffix: 500 });
    expect(parseRangeHeader(' Bytes=7-7 ')).toEqual({ first: 7, last: 7 });
  });

  it('asks for the whole object when there is no valid single range', () => {
    for (const header of [
      undefined,
      '',
      'bytes=',
      'bytes=-',
      'bytes=5-2',
      'bytes=0-1,4-5',
      'items=0-1',
      'bytes=a-b',
      'bytes=1.5-2',
      'bytes = 0-1',
      'bytes=0-1-2',
    ]) {
      expect(parseRangeHeader(header), String(header)).toBeUndefined();
    }
  });
});

describe('resolveByteRange', () => {
  it('selects the bytes of an object of the given size, both ends included', () => {
    expect(resolveByteRange({ first: 0, last: 99 }, 1000)).toEqual({ start: 0, end: 99 });
    expect(resolveByteRange({ first: 990, last: 2000 }, 1000)).toEqual({ start: 990, end: 999 });
    expect(resolveByteRange({ first: 999 }, 1000)).toEqual({ start: 999, end: 999 });
    expect(resolveByteRange({ suffix: 10 }, 1000)).toEqual({ start: 990, end: 999 });
    expect(resolveByteRange({ suffix: 5000 }, 1000)).toEqual({ start: 0, end: 999 });
  });

  it('selects nothing from past the end, a zero suffix or an empty object', () => {
    expect(resolveByteRange({ first: 1000 }, 1000)).toBeUndefined();
    expect(resolveByteRange({ first: 1000, last: 1001 }, 1000)).toBeUndefined();
    expect(resolveByteRange({ first: Number('9'.repeat(30)) }, 1000)).toBeUndefined();
    expect(resolveByteRange({ suffix: 0 }, 1000)).toBeUndefined();
    expect(resolveByteRange({ suffix: 1 }, 0)).toBeUndefined();
    expect(resolveByteRange({ first: 0 }, 0)).toBeUndefined();
  });
});
