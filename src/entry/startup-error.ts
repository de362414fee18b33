/** A start-up failure already worded for the person starting the process: printed without a stack. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The first line of an error's message, short enough for a one-line explanation. */
export const briefly = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/\n[\s\S]*/, '').slice(0, 200);
