import { createServer, Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy a test controls, put between a process and a server it depends on (Postgres), so
 * the test can take the server away for real without touching it (other tests share it):
 *
 * - `cut()`: every connection through the proxy is reset and new ones are refused, as when the
 *   server or the network is gone; `restore()` listens again on the same port.
 * - `holdWhen(pattern)`: a connection whose client sends bytes containing `pattern` stops
 *   forwarding, both ways, at that point: its process is stuck mid-statement until `release()`
 *   or until the connection dies. With Postgres, `pattern` can be a piece of SQL, which holds
 *   that statement's transaction open.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  readonly #onHold = new Set<() => void>();
  #port = 0;
  #hold: Buffer | undefined;

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (client) => this.#link(client));
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(createServer(), target);
    await proxy.#listen(0);
    return proxy;
  }

  /** A proxy to the Postgres server of a connection URL. */
  static toPostgres(databaseUrl: string): Promise<TcpProxy> {
    const target = new URL(databaseUrl);
    return TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  }

  /** Where to connect instead of the target. */
  get port(): number {
    return this.#port;
  }

  /** Connections open through the proxy right now. */
  get connections(): number {
    return this.#links.size;
  }

  /** Connections stopped by `holdWhen`. */
  get held(): number {
    return [...this.#links].filter((link) => link.held).length;
  }

  /** Rewrites a connection URL to go through the proxy. */
  url(targetUrl: string): string {
    const url = new URL(targetUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.#port);
    return url.toString();
  }

  /** Resets every connection and refuses new ones until `restore()`. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const link of this.#links) link.destroy();
    await closed;
  }

  async restore(): Promise<void> {
    if (!this.#server.listening) await this.#listen(this.#port);
  }

  /** From now on, holds every connection whose client sends `pattern` (until `release()`). */
  holdWhen(pattern: string): void {
    this.#hold = Buffer.from(pattern, 'utf8');
  }

  /** Resolves once at least `count` connections are held. */
  waitForHeld(count: number, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.held < count) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`only ${this.held} of ${count} connections were held within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = (): void => {
        clearTimeout(timer);
        this.#onHold.delete(check);
      };
      this.#onHold.add(check);
      check();
    });
  }

  /** Stops holding; held connections forward what they kept and go on. */
  release(): void {
    this.#hold = undefined;
    for (const link of this.#links) link.release();
  }

  async close(): Promise<void> {
    this.#onHold.clear();
    for (const link of this.#links) link.destroy();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  #link(client: Socket): void {
    const upstream = new Socket();
    const link = new Link(
      client,
      upstream,
      () => this.#hold,
      () => this.#onHold.forEach((notify) => notify()),
    );
    this.#links.add(link);
    void link.closed.then(() => this.#links.delete(link));
    upstream.connect(this.#target.port, this.#target.host);
  }
}

/** One client connection and its upstream twin: whatever happens to one happens to the other. */
class Link {
  held = false;
  readonly closed: Promise<void>;
  #kept: Buffer[] = [];

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    hold: () => Buffer | undefined,
    onHeld: () => void,
  ) {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      const pattern = hold();
      if (!this.held && pattern && chunk.includes(pattern)) {
        this.held = true;
        upstream.pause();
        onHeld();
      }
      if (this.held) this.#kept.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    this.closed = new Promise((resolve) => {
      let open = 2;
      const closed = (): void => {
        this.destroy();
        if (--open === 0) resolve();
      };
      client.once('close', closed);
      upstream.once('close', closed);
    });
    // A reset on either side resets the other; errors are what this proxy is for, not failures.
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    for (const chunk of this.#kept) this.upstream.write(chunk);
    this.#kept = [];
    this.upstream.resume();
  }

  destroy(): void {
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }
}
