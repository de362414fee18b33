import { createRequire } from 'node:module';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from './tracing.js';

/**
 * The workflow side of `@temporalio/interceptors-opentelemetry`: bundled into the traced
 * workflow bundle only, so a worker without tracing runs (and replays) workflows as before.
 */
export const WORKFLOW_TRACING_INTERCEPTORS = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

/** A client's starts and signals carry the caller's span (the webhook's) into the workflow's headers. */
export const tracingClientInterceptors = () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor()] });

/** Activities continue the workflow's trace; the workflow's spans leave the sandbox through a sink. */
export const tracingWorkerOptions = (tracing: Tracing): Pick<WorkerOptions, 'interceptors' | 'sinks'> => ({
  interceptors: {
    activity: [
      (context) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(context),
        outbound: new OpenTelemetryActivityOutboundInterceptor(context),
      }),
    ],
  },
  sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
});
