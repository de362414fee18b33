import { ConfigError } from '../config/config.js';
import { MigrationError } from '../db/migrate.js';
import { errorCode } from '../lib/error-code.js';
import { briefly, StartupError } from './startup-error.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * A start-up failure told as a person needs it: what is wrong and what to do, in a line or
 * two, no stack trace. Known failures carry their own advice.
 */
export function explainStartupFailure(error: unknown): string {
  if (error instanceof ConfigError || error instanceof MigrationError || error instanceof StartupError) return error.message;
  const code = errorCode(error);
  if (code && UNREACHABLE.has(code)) {
    return `a service it needs is not reachable (${briefly(error)}). Check DATABASE_URL / TEMPORAL_ADDRESS and that the service is running.`;
  }
  return `could not start: ${briefly(error)}`;
}

/** Prints the explanation, prefixed with the process's name, and exits non-zero. */
export function exitOnStartupFailure(processName: string) {
  return (error: unknown): never => {
    process.stderr.write(`${processName}: ${explainStartupFailure(error)}\n`);
    process.exit(1);
  };
}
