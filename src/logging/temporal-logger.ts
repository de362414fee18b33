import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger.js';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

const temporalLevel = (level: string): LogLevel =>
  (Object.keys(LEVELS) as LogLevel[]).find((key) => LEVELS[key] === level) ?? (level === 'fatal' || level === 'silent' ? 'ERROR' : 'WARN');

/** The SDK's and the worker's own log lines, as JSON lines of the service's logger. */
export function temporalLogger(logger: Logger): DefaultLogger {
  const child = logger.child({ component: 'temporal' });
  return new DefaultLogger(temporalLevel(logger.level), ({ level, message, meta }) => {
    child[LEVELS[level]](meta ?? {}, message);
  });
}
