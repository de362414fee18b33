interface Waiting<T> {
  items: readonly T[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: `write` runs one call at a time, and what arrives while a call is running goes,
 * all together, in the next one. A lone caller is written at once, so the batching costs no
 * latency; under load, many callers share one round trip. Each caller's promise settles with
 * the call that carried its items.
 */
export function groupCommit<T>(write: (items: T[]) => Promise<void>): (items: readonly T[]) => Promise<void> {
  let waiting: Waiting<T>[] = [];
  let writing = false;

  async function drain(): Promise<void> {
    writing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      let failure: { error: unknown } | undefined;
      try {
        await write(batch.flatMap((entry) => entry.items));
      } catch (error) {
        failure = { error };
      }
      for (const entry of batch) {
        if (failure) entry.reject(failure.error);
        else entry.resolve();
      }
    }
    writing = false;
  }

  return (items) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ items, resolve, reject });
      if (!writing) void drain();
    });
}
