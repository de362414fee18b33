// The baseline's workflow bundle entry point: a workflow shaped like FulfillOrderLine's happy
// path (same input, same number of sequential activity calls) that does nothing.
import { proxyActivities } from '@temporalio/workflow';
import type { FulfillmentInput } from '../../src/domain/fulfillment-input.js';
import type { NoopActivities } from './noop-activities.js';
import { NOOP_STEPS } from './noop-steps.js';

const { noopStep } = proxyActivities<NoopActivities>({ startToCloseTimeout: '30s' });

export async function NoopOrderLine(input: FulfillmentInput): Promise<void> {
  for (let step = 1; step <= NOOP_STEPS; step++) await noopStep(input, step);
}
