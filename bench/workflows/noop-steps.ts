/**
 * FulfillOrderLine's happy path calls six activities (begin, started event, resolve, verify,
 * persist, persisted event); the no-op baseline calls as many.
 */
export const NOOP_STEPS = 6;
export const NOOP_WORKFLOW = 'NoopOrderLine';
