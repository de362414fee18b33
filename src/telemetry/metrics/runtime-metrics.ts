import type { TelemetryOptions } from '@temporalio/worker';

/**
 * The Temporal SDK's own metrics (task slots, schedule-to-start latency, polls, cache) through
 * the Runtime's Prometheus exporter at `address`, or none. `Runtime.install` takes it once per process.
 */
export const runtimeTelemetry = (address: string | null): TelemetryOptions =>
  address ? { metrics: { prometheus: { bindAddress: address } } } : {};
