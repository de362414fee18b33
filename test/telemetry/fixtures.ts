import type { FulfillmentEventProperties } from '../../src/telemetry/events.js';
import type { TelemetryLogger } from '../../src/telemetry/posthog-telemetry.js';

export const API_KEY = 'phc_stand_in_project_key';

export const lineProperties: FulfillmentEventProperties = {
  shop_id: 'acme.myshopify.com',
  order_id: '820982911946154508',
  order_line_id: '9007199254740993',
  personalization_id: 'pers-42',
  job_id: 'job-7',
  workflow_id: 'acme.myshopify.com:9007199254740993:fulfillment',
};

export interface RecordingLogger extends TelemetryLogger {
  warnings: { obj: object; msg: string }[];
}

export const recordingLogger = (): RecordingLogger => {
  const warnings: RecordingLogger['warnings'] = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, msg }) };
};
