import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * Bench processes: each server under test (API, worker) runs in a child process of its own, so
 * the load generator in the parent never shares its event loop. Parent and child talk over IPC:
 * the child announces `ready`, then answers commands by id.
 */

type FromChild =
  | { type: 'ready'; info: unknown }
  | { type: 'fatal'; error: string }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

interface ToChild {
  type: 'call';
  id: number;
  command: string;
  args: unknown;
}

const TSX_LOADER = import.meta.resolve('tsx');
const live = new Set<ChildProcess>();

/** Whatever happens to the parent, no child outlives it. */
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface StartChildOptions {
  name: string;
  /** Extra node flags (`--expose-gc`, `--cpu-prof`…). */
  nodeFlags?: string[];
  startTimeoutMs?: number;
}

export class BenchChild<Info = unknown> {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly process: ChildProcess,
    public info: Info,
  ) {
    this.#exited = once(process, 'exit').then(() => undefined);
    process.on('message', (message: FromChild) => {
      if (message.type !== 'reply') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${name}: ${message.error}`));
    });
    process.on('exit', (code, signal) => {
      live.delete(process);
      for (const pending of this.#pending.values()) pending.reject(new Error(`${name} exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /** Forks `script` (TypeScript, through tsx) with `options` and waits for its `ready`. */
  static async start<Info>(script: string, options: unknown, settings: StartChildOptions): Promise<BenchChild<Info>> {
    const profileDir = process.env.BENCH_PROFILE_DIR;
    const child = fork(script, [], {
      execArgv: [
        '--import',
        TSX_LOADER,
        ...(settings.nodeFlags ?? []),
        // One folder per process name; the main thread's profile is the largest file in it.
        ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${settings.name}`] : []),
      ],
      env: { ...process.env, BENCH_CHILD_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    live.add(child);
    const ready = new Promise<Info>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${settings.name} did not start within ${settings.startTimeoutMs ?? 60_000} ms`)),
        settings.startTimeoutMs ?? 60_000,
      );
      child.on('message', (message: FromChild) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.info as Info);
        } else if (message.type === 'fatal') {
          clearTimeout(timer);
          reject(new Error(`${settings.name} failed to start: ${message.error}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${settings.name} exited during start-up (${code ?? signal})`));
      });
    });
    try {
      return new BenchChild<Info>(settings.name, child, await ready);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  call<T>(command: string, args: unknown = {}): Promise<T> {
    const id = this.#nextId++;
    const message: ToChild = { type: 'call', id, command, args };
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send(message);
    });
  }

  /** Asks the child to close what it opened; kills it if it has not exited in time. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    try {
      await this.call('shutdown').catch(() => undefined);
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export type Handlers = Record<string, (args: never) => unknown>;

/**
 * The child's side: reads its options, runs `init`, announces `ready` with `info`, then serves
 * the handlers. `shutdown` (or the parent going away) runs `close` and exits.
 */
export function serveChild(
  // `never`: each child's init names its own options; the JSON handed over is not checked.
  init: (options: never) => Promise<{ info?: unknown; handlers: Handlers; close: () => Promise<void> }>,
): void {
  const send = (message: FromChild) => process.send?.(message);
  const options = JSON.parse(process.env.BENCH_CHILD_OPTIONS ?? '{}') as never;
  init(options).then(
    ({ info, handlers, close }) => {
      let closing: Promise<void> | undefined;
      const shutdown = () => (closing ??= close().catch((error: unknown) => console.error('bench child close failed:', error)));
      process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
      process.on('message', (message: ToChild) => {
        if (message.command === 'shutdown') {
          void shutdown().finally(() => {
            send({ type: 'reply', id: message.id, ok: true, result: null });
            setImmediate(() => process.exit(0));
          });
          return;
        }
        const handler = handlers[message.command];
        Promise.resolve()
          .then(() => {
            if (!handler) throw new Error(`unknown command ${message.command}`);
            return (handler as (args: unknown) => unknown)(message.args);
          })
          .then(
            (result) => send({ type: 'reply', id: message.id, ok: true, result }),
            (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: describe(error) }),
          );
      });
      send({ type: 'ready', info: info ?? null });
    },
    (error: unknown) => {
      send({ type: 'fatal', error: describe(error) });
      setImmediate(() => process.exit(1));
    },
  );
}

const describe = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));
