/** Raised when a delivery waited its whole allowance for room to start its workflows. */
export class AdmissionTimeoutError extends Error {
  override readonly name = 'AdmissionTimeoutError';
}

interface Waiter {
  slots: number;
  admit: () => void;
}

/**
 * Admission control for workflow starts: at most `capacity` starts in flight from this
 * process. When Temporal falls behind, the starts beyond it wait here, in arrival order, for a
 * bounded time, instead of queueing inside Temporal. Past that time a delivery is turned away
 * (503, Shopify retries it) having cost Temporal nothing. Without it, a burst queues more
 * starts than Temporal finishes within the request budget: Temporal then spends itself on starts
 * whose deliveries have already been answered 503, and the throughput of accepted deliveries
 * collapses (`npm run bench`, intake at 200 connections).
 *
 * A delivery takes the slots of all its lines at once (an order larger than the capacity takes
 * all of it), so its lines start together and no delivery holds half of what it needs.
 */
export class StartAdmission {
  #inFlight = 0;
  readonly #queue: Waiter[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`start capacity must be a positive integer, not ${capacity}`);
  }

  /** Runs `fn` once `lines` starts may go, or throws `AdmissionTimeoutError` after `maxWaitMs`. */
  async run<T>(lines: number, maxWaitMs: number, fn: () => Promise<T>): Promise<T> {
    const slots = Math.min(Math.max(lines, 1), this.capacity);
    await this.#acquire(slots, maxWaitMs);
    try {
      return await fn();
    } finally {
      this.#inFlight -= slots;
      this.#admitWaiting();
    }
  }

  #acquire(slots: number, maxWaitMs: number): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight + slots <= this.capacity) {
      this.#inFlight += slots;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        slots,
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#queue.splice(this.#queue.indexOf(waiter), 1);
        // The one that left may have been blocking smaller ones behind it.
        this.#admitWaiting();
        reject(new AdmissionTimeoutError(`no room to start workflows within ${maxWaitMs} ms`));
      }, maxWaitMs);
      this.#queue.push(waiter);
    });
  }

  /** In arrival order: the first waiter that does not fit holds the rest back (no starvation). */
  #admitWaiting(): void {
    for (let next = this.#queue[0]; next !== undefined && this.#inFlight + next.slots <= this.capacity; next = this.#queue[0]) {
      this.#queue.shift();
      this.#inFlight += next.slots;
      next.admit();
    }
  }
}
