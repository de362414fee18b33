import type { Logger as TemporalLogger } from '@temporalio/common';
import type { LogFn } from 'pino';
import type { LogContext, RequestLog } from './request-log.js';

/**
 * An activity's unit of work (a reconciled order) as the services' `RequestLog`: lines go to
 * the activity's own logger (the worker's, with the workflow and activity ids attached), with
 * the correlation keys bound so far.
 */
export function activityLog(log: TemporalLogger, context: LogContext = {}): RequestLog {
  const bound: LogContext = { ...context };
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug' | 'trace'): LogFn =>
    (first: unknown, message?: string) => {
      if (typeof first === 'string') log[level](first, { ...bound });
      else log[level](message ?? '', { ...bound, ...(first as Record<string, unknown>) });
    };
  return {
    logger: { fatal: at('error'), error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') },
    bind: (more) => Object.assign(bound, more),
  };
}
