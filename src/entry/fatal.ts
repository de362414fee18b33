import { ConfigError } from '../config/config.js';
import { MigrationError } from '../db/migrate.js';

/**
 * A start-up failure told as a person needs it: what is wrong and what to do, in a line or
 * two, no stack trace. Known failures carry their own advice.
 */
export function explainStartupFailure(error: unknown, service: string): string {
  if (error instanceof ConfigError || error instanceof MigrationError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    return `${service} could not reach a service it needs (${message}). Check DATABASE_URL / TEMPORAL_ADDRESS and that the service is running.`;
  }
  return `${service} could not start: ${message}`;
}

/** Prints the explanation and exits non-zero. */
export function exitOnStartupFailure(service: string) {
  return (error: unknown): never => {
    process.stderr.write(`${explainStartupFailure(error, service)}\n`);
    process.exit(1);
  };
}
