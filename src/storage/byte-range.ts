/**
 * A single byte range of an object, as an HTTP `Range` header asks for it (RFC 9110 §14.1.2):
 * `first-last`, `first-` or a suffix `-length`. It is resolved against the object's size only
 * once the object is open, so the answer matches the bytes that are sent.
 */
export type ByteRangeSpec = { first: number; last?: number } | { suffix: number };

/** The bytes a range selects, both ends included. */
export interface ByteRange {
  start: number;
  end: number;
}

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/i;

/**
 * The range a `Range` header asks for, or undefined when it asks for the whole object: no
 * header, one that is not valid, or several ranges, which a server may answer with the whole
 * object (RFC 9110 §14.2) and a supplier resuming a download never sends.
 */
export function parseRangeHeader(header: string | undefined): ByteRangeSpec | undefined {
  const match = header === undefined ? null : SINGLE_RANGE.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  // Past 2^53 a number is no longer exact, but it is past any object's size all the same.
  if (first === '') return last === '' ? undefined : { suffix: Number(last) };
  if (last === '') return { first: Number(first) };
  return Number(last) < Number(first) ? undefined : { first: Number(first), last: Number(last) };
}

/** The bytes `spec` selects of an object of `size` bytes, or undefined when it selects none. */
export function resolveByteRange(spec: ByteRangeSpec, size: number): ByteRange | undefined {
  if ('suffix' in spec) {
    return spec.suffix === 0 || size === 0 ? undefined : { start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  if (spec.first >= size) return undefined;
  return { start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) };
}
