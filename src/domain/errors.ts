import type { ReasonCode } from './reasons.js';

/**
 * A failure that belongs to the order line, not to the infrastructure: retrying the activity
 * cannot fix it, an operator can. It carries the reason code the whole system speaks.
 */
export class FulfillmentError extends Error {
  override readonly name = 'FulfillmentError';

  constructor(
    readonly reason: ReasonCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A line's failure as it is recorded, shown and reported: the reason code with what went wrong. */
export interface LineFailure {
  reason_code: ReasonCode;
  message: string;
  details: Record<string, unknown>;
}
