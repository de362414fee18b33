import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths whose values never reach a log line, wherever they appear. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-shopify-hmac-sha256"]',
  'req.headers.apikey',
  'headers.authorization',
  'headers["x-shopify-hmac-sha256"]',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.signature',
  '*.serviceKey',
];

export type { Logger };

export function createLogger(options: { level: string; name: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
