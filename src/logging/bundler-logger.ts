import type { Logger } from '@temporalio/worker';

/**
 * The bundler's logger for a worker that bundles at start (`npm run dev`): webpack's multi-line
 * build report becomes one short line, its last ("webpack 5.x compiled successfully in 900 ms").
 */
export function oneLineBundlerLogger(base: Logger): Logger {
  const oneLine = (message: string) =>
    message.includes('\n') ? `workflow bundle: ${message.trim().split('\n').pop()?.trim() ?? ''}` : message;
  return {
    log: (level, message, meta) => {
      base.log(level, oneLine(message), meta);
    },
    trace: (message, meta) => {
      base.trace(message, meta);
    },
    debug: (message, meta) => {
      base.debug(message, meta);
    },
    info: (message, meta) => {
      base.info(oneLine(message), meta);
    },
    warn: (message, meta) => {
      base.warn(message, meta);
    },
    error: (message, meta) => {
      base.error(message, meta);
    },
  };
}
