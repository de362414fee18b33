/** A system error's code (`ENOENT`, `EADDRINUSE`, …), or undefined for anything else thrown. */
export const errorCode = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
