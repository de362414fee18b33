import { describe, expect, it } from 'vitest';
import { LINE_STATUSES, type LineStatus } from '../../src/domain/line-status.js';
import { orderStatus, type OrderStatus } from '../../src/domain/order-status.js';

/** Every non-empty set of line statuses an order's lines can show together (127 of them). */
const everyCombination = (): LineStatus[][] =>
  Array.from({ length: 2 ** LINE_STATUSES.length - 1 }, (_, index) => LINE_STATUSES.filter((_, bit) => ((index + 1) >> bit) & 1));

const OPEN: readonly LineStatus[] = ['processing', 'waiting_for_preview'];
const CLOSED: readonly LineStatus[] = ['cancelled', 'withheld'];

describe('orderStatus', () => {
  it.each<[string, LineStatus[], OrderStatus]>([
    ['one line processing', ['processing'], 'in_progress'],
    ['a line waiting for its preview beside a persisted one', ['persisted', 'waiting_for_preview'], 'in_progress'],
    ['every line persisted', ['persisted', 'persisted'], 'ready_for_print'],
    ['some persisted, some refunded before their asset existed', ['persisted', 'cancelled'], 'ready_for_print'],
    ['some persisted, one refunded after its asset existed', ['persisted', 'withheld'], 'ready_for_print'],
    ['a cancelled order: withheld and cancelled lines only', ['withheld', 'cancelled'], 'closed'],
    ['one failed line among persisted ones', ['persisted', 'failed', 'persisted'], 'needs_attention'],
    ['a failed line beside one still processing', ['failed', 'processing'], 'needs_attention'],
    ['a failed line beside a cancelled one', ['failed', 'cancelled'], 'needs_attention'],
    ['a redaction under way: one line erased, another still failed', ['redacted', 'failed'], 'redacted'],
    ['every line erased', ['redacted'], 'redacted'],
  ])('%s', (_, statuses, expected) => {
    expect(orderStatus(statuses)).toBe(expected);
  });

  describe.each(everyCombination().map((statuses) => [statuses.join(' + '), statuses] as const))('lines %s', (_, statuses) => {
    const has = (status: LineStatus) => statuses.includes(status);
    const status = orderStatus(statuses);

    it('is redacted exactly when a line is', () => {
      expect(status === 'redacted').toBe(has('redacted'));
    });
    it('needs attention exactly when a line failed and none is erased', () => {
      expect(status === 'needs_attention').toBe(has('failed') && !has('redacted'));
    });
    it('is ready for print exactly when every line is persisted or closed, one at least persisted', () => {
      expect(status === 'ready_for_print').toBe(statuses.every((s) => s === 'persisted' || CLOSED.includes(s)) && has('persisted'));
    });
    it('is closed exactly when every line is cancelled or withheld', () => {
      expect(status === 'closed').toBe(statuses.every((s) => CLOSED.includes(s)));
    });
    it('is in progress exactly when a line works and none failed or is erased', () => {
      expect(status === 'in_progress').toBe(statuses.some((s) => OPEN.includes(s)) && !has('failed') && !has('redacted'));
    });
    it('does not depend on how many lines share a status, nor on their order', () => {
      expect(orderStatus([...statuses].reverse().flatMap((s) => [s, s]))).toBe(status);
    });
  });

  it('refuses an order without lines', () => {
    expect(() => orderStatus([])).toThrow(RangeError);
  });
});
