import { PostHogTelemetry, type TelemetryLogger } from './posthog-telemetry.js';
import { NoopTelemetry, type Telemetry } from './telemetry.js';

export interface TelemetrySettings {
  /** `POSTHOG_API_KEY`; without it telemetry is off. */
  apiKey?: string | undefined;
  /** `POSTHOG_HOST`. */
  host: string;
  logger?: TelemetryLogger;
}

export const createTelemetry = ({ apiKey, host, logger }: TelemetrySettings): Telemetry =>
  apiKey ? new PostHogTelemetry({ apiKey, host, logger }) : new NoopTelemetry();
