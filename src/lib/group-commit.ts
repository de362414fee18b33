interface Waiting<T> {
  items: readonly T[];
  /** Its write has begun: it can no longer be dropped. */
  taken: () => void;
  settle: (failure?: { error: unknown }) => void;
}

/**
 * Group commit: `write` runs one call at a time, and what arrives while a call is running goes,
 * all together, in the next one. A lone caller is written at once; under load, many callers
 * share one round trip. Each caller's promise settles with the call that carried its items:
 * true once written, or the call's error, shared by all it carried. A caller whose `signal`
 * aborts before its write begins is dropped, and its promise resolves false, so a stalled
 * write holds only the callers still willing to wait.
 */
export function groupCommit<T>(write: (items: T[]) => Promise<void>): (items: readonly T[], signal?: AbortSignal) => Promise<boolean> {
  let waiting: Waiting<T>[] = [];
  let writing = false;

  async function drain(): Promise<void> {
    writing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      for (const entry of batch) entry.taken();
      let failure: { error: unknown } | undefined;
      try {
        await write(batch.flatMap((entry) => entry.items));
      } catch (error) {
        failure = { error };
      }
      for (const entry of batch) entry.settle(failure);
    }
    writing = false;
  }

  return (items, signal) =>
    new Promise<boolean>((resolve, reject) => {
      if (signal?.aborted) {
        resolve(false);
        return;
      }
      const entry: Waiting<T> = {
        items,
        taken: () => {
          signal?.removeEventListener('abort', drop);
        },
        settle: (failure) => {
          if (failure) reject(failure.error);
          else resolve(true);
        },
      };
      function drop() {
        waiting = waiting.filter((other) => other !== entry);
        resolve(false);
      }
      signal?.addEventListener('abort', drop, { once: true });
      waiting.push(entry);
      if (!writing) void drain();
    });
}
