import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ObjectInspection, StreamOptions } from '../object-storage.js';

/**
 * The local backend's copies run on threads of their own: SHA-256 of a large file costs about
 * a millisecond of CPU per MiB, which on the event loop's one thread left the second core idle
 * (16 copies at once ran at half the MiB/s of `openssl` + `cp`), and blocking reads and writes
 * of small pieces there keep the bytes in the core's cache. Two per core: a thread waiting for
 * its fsync or a cold read leaves its core to the other (16 copies: 0.78× with one per core, 0.89× with two).
 */
export const COPY_THREADS = Math.min(2 * availableParallelism(), 8);

/** What a copy thread is asked: the open files' descriptors, the size to copy, and a flag set to stop it. */
export interface CopyJob {
  sourceFd: number;
  targetFd: number;
  size: number;
  /** Whether the caller listens to progress (see `StreamOptions`); it is posted only then. */
  progress: boolean;
  progressEveryMs?: number;
  /** Set to non-zero (`Atomics.store`) to stop the copy after its current piece. */
  stop: Int32Array;
}

export type FromCopyThread =
  | { kind: 'progress'; bytes: number }
  | { kind: 'done'; inspection: ObjectInspection }
  | { kind: 'stopped' }
  | { kind: 'failed'; message: string; code: string | undefined };

const here = fileURLToPath(import.meta.url);
/** The thread's module: `.js` once compiled; `.ts` from source (tsx, vitest), loaded through tsx in the thread. */
const THREAD_MODULE = new URL(`./copy-thread${extname(here)}`, import.meta.url);
const THREAD_ENTRY = ((): [string | URL, { eval?: true }] => {
  if (extname(here) !== '.ts') return [THREAD_MODULE, {}];
  // A worker's `execArgv` cannot carry `--import tsx`, and tsx's ESM hooks do not reach a worker: its CommonJS hook does.
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const load = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(THREAD_MODULE))});`;
  return [load, { eval: true }];
})();

/**
 * How long a copy thread waits idle before it ends: a burst's copies share the threads it
 * started, and a worker gone quiet gives back their memory (about 10 MiB each).
 */
export const copyThreadTuning = { idleExitMs: 60_000 };

const idle = new Map<Worker, NodeJS.Timeout>();
const waiting: ((thread: Worker) => void)[] = [];
let started = 0;

/** Copy threads running now, busy or idle. */
export const runningCopyThreads = (): number => started;

function startThread(): Worker {
  started++;
  const thread = new Worker(...THREAD_ENTRY);
  // Idle copy threads never keep a process alive.
  thread.unref();
  // An idle thread's failure is its exit, which forgets it; a copy's failure reaches that copy.
  thread.on('error', () => undefined);
  thread.once('exit', () => {
    started--;
    clearTimeout(idle.get(thread));
    idle.delete(thread);
  });
  return thread;
}

/** Starts the copy threads now rather than on the first copies (a worker that is measured). */
export async function warmCopyThreads(): Promise<void> {
  const fresh: Worker[] = [];
  while (started < COPY_THREADS) fresh.push(startThread());
  await Promise.all(fresh.map((thread) => new Promise((resolve) => thread.once('online', resolve).once('exit', resolve))));
  for (const thread of fresh) if (thread.threadId >= 0) release(thread);
}

/** What an aborted signal rejects with, as `signal.throwIfAborted()` would throw it. */
const abortReason = (signal: AbortSignal | undefined): Error =>
  signal?.reason instanceof Error ? signal.reason : new Error(`aborted: ${String(signal?.reason)}`);

function release(thread: Worker): void {
  const next = waiting.shift();
  if (next) next(thread);
  else idle.set(thread, setTimeout(() => void thread.terminate(), copyThreadTuning.idleExitMs).unref());
}

/** The thread idle the shortest time (its cache is the warmest), taken out of the idle ones. */
function takeIdle(): Worker | undefined {
  const last = [...idle.keys()].at(-1);
  if (last === undefined) return undefined;
  clearTimeout(idle.get(last));
  idle.delete(last);
  return last;
}

/**
 * A free thread; while all are busy, the caller waits its turn, heartbeating as a copy that
 * moves would (a queued copy is alive), and an abort takes it out of the queue.
 */
function acquire(options: StreamOptions): Promise<Worker> {
  const free = takeIdle();
  if (free) return Promise.resolve(free);
  if (started < COPY_THREADS) return Promise.resolve(startThread());
  return new Promise<Worker>((resolve, reject) => {
    const { signal, onProgress, progressEveryMs } = options;
    let pulse: NodeJS.Timeout | undefined;
    const leave = () => {
      clearInterval(pulse);
      signal?.removeEventListener('abort', onAbort);
      const at = waiting.indexOf(take);
      if (at >= 0) waiting.splice(at, 1);
    };
    const take = (thread: Worker) => {
      leave();
      resolve(thread);
    };
    const onAbort = () => {
      leave();
      reject(abortReason(signal));
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (onProgress && progressEveryMs !== undefined) {
      pulse = setInterval(() => {
        try {
          onProgress(0);
        } catch (error) {
          leave();
          reject(error);
        }
      }, progressEveryMs);
    }
    waiting.push(take);
  });
}

/**
 * Copies `size` bytes (fewer if the source shrank) from `sourceFd` into `targetFd` on a copy
 * thread, inspecting them, and fsyncs the copy. Progress reaches `onProgress` here; an abort,
 * or a throw of `onProgress`, stops the copy after its current piece and rejects with it. A
 * filesystem failure rejects with an error carrying its code, as `fs` would.
 */
export async function copyOnThread(
  sourceFd: number,
  targetFd: number,
  size: number,
  options: StreamOptions = {},
): Promise<ObjectInspection> {
  options.signal?.throwIfAborted();
  const thread = await acquire(options);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  let stoppedBy: { error: unknown } | undefined;
  const halt = (error: unknown) => {
    stoppedBy ??= { error };
    Atomics.store(stop, 0, 1);
  };
  const onAbort = () => {
    halt(abortReason(options.signal));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const copying = { broken: false };
  thread.ref();
  try {
    return await new Promise<ObjectInspection>((resolve, reject) => {
      const onExit = (code: number) => {
        copying.broken = true;
        reject(new Error(`copy thread exited (${code}) during a copy`));
      };
      const onError = (error: Error) => {
        copying.broken = true;
        thread.off('exit', onExit);
        reject(error);
      };
      const onMessage = (message: FromCopyThread) => {
        if (message.kind === 'progress') {
          try {
            options.onProgress?.(message.bytes);
          } catch (error) {
            halt(error);
          }
          return;
        }
        thread.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (stoppedBy) reject(stoppedBy.error);
        else if (message.kind === 'done') resolve(message.inspection);
        else if (message.kind === 'failed') reject(Object.assign(new Error(message.message), { code: message.code }));
        else reject(new Error('copy thread stopped unasked'));
      };
      thread.on('message', onMessage).once('error', onError).once('exit', onExit);
      thread.postMessage({
        sourceFd,
        targetFd,
        size,
        stop,
        progress: options.onProgress !== undefined,
        ...(options.progressEveryMs === undefined ? {} : { progressEveryMs: options.progressEveryMs }),
      } satisfies CopyJob);
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    thread.unref();
    // A thread that failed is let go (its exit forgets it); a sound one serves the next copy.
    if (copying.broken) void thread.terminate();
    else release(thread);
  }
}
