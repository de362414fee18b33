import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseUnavailable } from './errors.js';

export interface DatabaseWait {
  /** Called before each wait with how many tries have failed. */
  onWait?: (failures: number, error: unknown) => void;
  /**
   * Called this often for as long as the step runs or waits: activities heartbeat from it,
   * since a query to a server that stopped answering takes up to its timeout to fail.
   */
  pulse?: { everyMs: number; beat: () => void };
  /** Stops waiting: the step's error is then the signal's reason. */
  signal?: AbortSignal;
}

const FIRST_WAIT_MS = 250;
const LONGEST_WAIT_MS = 10_000;

/**
 * Runs `step`, and runs it again for as long as Postgres cannot be reached, waiting a little
 * longer each time (up to 10 s). For a step whose work before it (a file copied) must not be
 * spent on an outage. Any other error is the step's own and is thrown at once.
 */
export async function whileDatabaseUnavailable<T>(step: () => Promise<T>, { onWait, pulse, signal }: DatabaseWait = {}): Promise<T> {
  const pulsing = pulse ? setInterval(pulse.beat, pulse.everyMs) : undefined;
  try {
    for (let failures = 1; ; failures++) {
      try {
        return await step();
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        onWait?.(failures, error);
        const waitMs = Math.min(FIRST_WAIT_MS * 2 ** (failures - 1), LONGEST_WAIT_MS);
        await sleep(waitMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
      }
    }
  } finally {
    clearInterval(pulsing);
  }
}
