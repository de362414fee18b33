import type { Logger } from '../logging/logger.js';

/**
 * On SIGTERM or SIGINT, runs the steps in order (each closing what the one before relied on),
 * then exits; past `graceMs` it exits anyway, so a stuck step cannot keep a process alive.
 */
export function exitOnSignal(logger: Logger, graceMs: number, steps: Array<() => Promise<unknown>>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
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
          process.exitCode = 0;
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
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
