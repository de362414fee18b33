import type { Logger } from '../logging/logger.js';

/** Stops the process as a signal would, for a reason of its own; `failed` makes the exit code 1. */
export type Shutdown = (reason: string, failed: boolean) => void;

/**
 * On SIGTERM or SIGINT, runs the steps in order (each closing what the one before relied on),
 * then exits; past `graceMs` it exits anyway, so a stuck step cannot keep a process alive.
 * Returns the same shutdown, for a process that must stop on a failure of its own.
 */
export function exitOnSignal(logger: Logger, graceMs: number, steps: (() => Promise<unknown>)[]): Shutdown {
  let stopping = false;
  const stop = (reason: string, failed: boolean) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ grace_ms: graceMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    void steps
      .reduce<Promise<unknown>>((previous, step) => previous.then(step), Promise.resolve())
      .then(
        () => {
          logger.info('stopped');
          process.exitCode = failed ? 1 : 0;
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while shutting down');
          process.exitCode = 1;
        },
      )
      .finally(() => {
        clearTimeout(force);
        process.exit();
      });
  };
  process.once('SIGTERM', (signal) => stop(signal, false));
  process.once('SIGINT', (signal) => stop(signal, false));
  return stop;
}
