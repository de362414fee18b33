import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import { NOOP_STEPS } from './noop-steps.js';

/** No-op activities; the last step of each workflow counts it as done. */
export function createNoopActivities(counter: { completed: number }) {
  return {
    noopStep(_input: FulfillmentInput, step: number): Promise<void> {
      if (step === NOOP_STEPS) counter.completed += 1;
      return Promise.resolve();
    },
  };
}

export type NoopActivities = ReturnType<typeof createNoopActivities>;
