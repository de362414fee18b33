import { Connection } from '@temporalio/client';
import { resolveTemporalCli } from '../../src/temporal/cli.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';
import { Spawned } from './child-processes.js';
import { freePort } from './ports.js';

export { freePort };

/**
 * A Temporal dev server of a test's own, from the installed CLI, persisted in `dbFile` so it can
 * be stopped and started again on the same port with its workflows intact:
 * `temporal server start-dev --db-filename <file> --port <free> --headless --search-attribute …`.
 */
export class TemporalDevServer {
  #process: Spawned | undefined;

  private constructor(
    readonly port: number,
    private readonly dbFile: string | undefined,
    private readonly extraArgs: string[],
  ) {}

  /** Persisted in `dbFile` (in memory without one); `extraArgs` go to `start-dev` as they are. */
  static async start(dbFile?: string, extraArgs: string[] = []): Promise<TemporalDevServer> {
    const server = new TemporalDevServer(await freePort(), dbFile, extraArgs);
    await server.start();
    return server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#process?.alive ?? false;
  }

  /** Starts (again) on the same port and database file; resolves once it answers. */
  async start(): Promise<void> {
    if (this.running) return;
    const cli = resolveTemporalCli(process.env.TEMPORAL_CLI_PATH);
    if (cli.type !== 'existing-path') throw new Error('the temporal CLI is not installed (set TEMPORAL_CLI_PATH)');
    const [httpPort, metricsPort] = [await freePort(), await freePort()];
    this.#process = new Spawned({
      name: `temporal-${this.port}`,
      command: cli.path,
      args: [
        'server',
        'start-dev',
        ...(this.dbFile ? ['--db-filename', this.dbFile] : []),
        '--ip',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--http-port',
        String(httpPort),
        '--metrics-port',
        String(metricsPort),
        '--headless',
        '--log-level',
        'error',
        ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
        ...this.extraArgs,
      ],
      env: process.env,
    });
    await this.#waitUntilServing(30_000);
  }

  /** A graceful stop (SIGTERM), as an operator or an orchestrator restarts it. */
  async stop(): Promise<void> {
    await this.#process?.stop(15_000);
  }

  async #waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.#process?.alive) throw new Error(`temporal dev server exited:\n${this.#process?.tail()}`);
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: '1s' });
        try {
          await connection.workflowService.getSystemInfo({});
          return;
        } finally {
          await connection.close();
        }
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`temporal dev server not serving within ${timeoutMs} ms: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}
