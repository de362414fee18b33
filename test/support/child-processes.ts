import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { captureFile } from './capture.js';
import { must } from './must.js';

const EXIT_WITH_PARENT = fileURLToPath(new URL('./exit-with-parent.mjs', import.meta.url));

/**
 * Processes a test starts (workers, Temporal servers), each the leader of its own process
 * group so that a kill reaches everything it started. Every one is killed when the test
 * process exits; and each runs under `exit-with-parent.mjs`, which kills it when the test
 * process dies without a chance to clean up.
 */
const running = new Set<ChildProcess>();

const killGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
};

process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

export interface SpawnedOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Names the file its output is captured in (for the secrets scan), and error messages. */
  name: string;
}

/** A child process with its output kept (in memory and in the run's capture folder). */
export class Spawned {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = '';
  readonly #listeners = new Set<() => void>();
  readonly #log: WriteStream;

  constructor(readonly options: SpawnedOptions) {
    this.#log = createWriteStream(captureFile(`${options.name}.log`), { flags: 'a' });
    this.child = spawn(process.execPath, [EXIT_WITH_PARENT, options.command, ...options.args], {
      cwd: options.cwd ?? process.cwd(),
      env: options.env,
      detached: true,
      // stdin stays a pipe from this process: it closes when this process dies.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(this.child);
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      running.delete(this.child);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.#output += text;
      this.#log.write(text);
      for (const listener of this.#listeners) listener();
    };
    this.child.stdout.on('data', collect);
    this.child.stderr.on('data', collect);
  }

  get pid(): number {
    return must(this.child.pid, `${this.options.name}: a pid (the process was spawned)`);
  }

  /** The command's own process (under `exit-with-parent`), for its memory figures. */
  async commandPid(): Promise<number> {
    const { readFile } = await import('node:fs/promises');
    const children = await readFile(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8');
    const [pid] = children.trim().split(/\s+/).map(Number);
    if (!pid) throw new Error(`${this.options.name}: no command process under ${this.pid}`);
    return pid;
  }

  get output(): string {
    return this.#output;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the output matches `pattern`; rejects if the process exits first or time runs out. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(this.#output)) finish();
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.options.name}: no ${pattern} within ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      this.#listeners.add(check);
      void this.exited.then(({ code, signal }) => {
        if (!pattern.test(this.#output))
          finish(new Error(`${this.options.name} exited (${code ?? signal}) before ${pattern}:\n${this.tail()}`));
      });
      check();
    });
  }

  /** The last lines of output, for error messages. */
  tail(lines = 30): string {
    return this.#output.split('\n').slice(-lines).join('\n');
  }

  /** `kill -9` of the whole group: no shutdown hook, no grace time, nothing flushed. */
  async kill(): Promise<void> {
    killGroup(this.child, 'SIGKILL');
    await this.exited;
    await this.#closeLog();
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.alive) {
      killGroup(this.child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(this.child, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.#closeLog();
  }

  async #closeLog(): Promise<void> {
    if (this.#log.closed) return;
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }
}

/** Kills whatever is still running (an `afterAll` safety net; `exit` does the same). */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) killGroup(child, 'SIGKILL');
  await Promise.all(children.filter((child) => child.exitCode === null && child.signalCode === null).map((child) => once(child, 'exit')));
}

/** Resident and peak resident memory of a process, in MiB (Linux `/proc`). */
export async function memoryOf(pid: number): Promise<{ rss_mib: number; peak_rss_mib: number }> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: Math.round(kib('VmRSS') / 1024), peak_rss_mib: Math.round(kib('VmHWM') / 1024) };
}

/**
 * Runs an ES module `script` in a child Node with the project's TypeScript loader, from the
 * project's root (so it can import `./src/...`), and answers its exit code and output. Killed
 * after `timeoutMs`, which a test then sees as a null code. `stdout` may be a file descriptor.
 */
export async function runScript(
  script: string,
  { stdout = 'pipe', timeoutMs = 15_000 }: { stdout?: 'pipe' | number; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', stdout, 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, ...output };
}
