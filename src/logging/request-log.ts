import type { Logger } from './logger.js';

/** Correlation keys a request's log lines carry from the moment they are known. */
export type LogContext = Partial<
  Record<'shop_id' | 'order_id' | 'order_line_id' | 'workflow_id' | 'webhook_id' | 'personalization_id', string>
>;

/**
 * The log of one unit of work (an HTTP request, later a reconciliation sweep), as services see
 * it: `logger` writes, `bind` adds correlation keys to every line after it, the unit's own
 * closing line included. Services log without knowing what carried the work to them.
 */
export interface RequestLog {
  // The levels alone: Fastify's request logger is one, without being a pino instance.
  readonly logger: Pick<Logger, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'>;
  bind(context: LogContext): void;
}
