/** Keys one read carries at most: after a stall, what piled up is read in bounded batches. */
const MAX_BATCH = 256;

interface Waiting<K, V> {
  key: K;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

/**
 * Group read, the reading side of `groupCommit`: `read` runs one call at a time, and the keys
 * asked for while a call is running go, together, in the next one. A lone caller is read at
 * once; under load many callers share one round trip. Each caller gets the value at its key's
 * index in what `read` answers, or the call's error, shared by all it carried.
 */
export function groupRead<K, V>(read: (keys: readonly K[]) => Promise<readonly V[]>): (key: K) => Promise<V> {
  let waiting: Waiting<K, V>[] = [];
  let reading = false;

  async function drain(): Promise<void> {
    reading = true;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, MAX_BATCH);
      waiting = waiting.slice(MAX_BATCH);
      try {
        const values = await read(batch.map((entry) => entry.key));
        if (values.length !== batch.length) throw new Error(`group read answered ${values.length} values for ${batch.length} keys`);
        batch.forEach((entry, index) => {
          entry.resolve(values[index] as V);
        });
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    reading = false;
  }

  return (key) =>
    new Promise<V>((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (!reading) void drain();
    });
}
