import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';

/**
 * What posthog-node 5 POSTs to `<host>/batch/` (see `_flush` and `sendImmediate` in
 * @posthog/core): JSON, gzip-compressed when the runtime has CompressionStream. The event
 * schema is strict where PostHog is, so a malformed uuid or timestamp fails the test instead
 * of being silently accepted.
 */
const batchSchema = z.object({
  api_key: z.string().min(1),
  sent_at: z.iso.datetime().optional(),
  batch: z.array(
    z.object({
      event: z.string().min(1),
      distinct_id: z.string().min(1),
      properties: z.record(z.string(), z.unknown()),
      uuid: z.uuid(),
      timestamp: z.iso.datetime(),
      type: z.string(),
    }),
  ),
});

type Batch = z.infer<typeof batchSchema>;

/** One captured event, with the project key of the request that carried it. */
export type CapturedEvent = Batch['batch'][number] & { api_key: string };

/** How PostHog is unavailable: nothing listens, or requests are accepted and never answered. */
export type Outage = 'refuse' | 'hang';

/** A local PostHog capture endpoint for the real posthog-node client, with fault switches. */
export class PostHogStandIn {
  readonly #server: Server;
  readonly #port: number;
  readonly #events: CapturedEvent[] = [];
  readonly #onEvents = new Set<() => void>();
  #requests = 0;
  #failures: { remaining: number; status: number } = { remaining: 0, status: 500 };
  #hanging = false;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.#port = port;
  }

  static async start(): Promise<PostHogStandIn> {
    const server = createServer();
    await listen(server, 0);
    const standIn = new PostHogStandIn(server, (server.address() as AddressInfo).port);
    // A client that gives up mid-request only costs that request.
    server.on('request', (req, res) => {
      void standIn.#handle(req, res).catch(() => res.destroy());
    });
    return standIn;
  }

  /** The `host` option for the client. */
  get host(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Every accepted event, duplicates included, in arrival order. */
  events(): CapturedEvent[] {
    return [...this.#events];
  }

  /** What PostHog keeps: one event per uuid, the first to arrive. */
  uniqueByUuid(): CapturedEvent[] {
    const byUuid = new Map<string, CapturedEvent>();
    for (const event of this.#events) {
      if (!byUuid.has(event.uuid)) byUuid.set(event.uuid, event);
    }
    return [...byUuid.values()];
  }

  /** `/batch/` requests received, failed and hung ones included: shows the client's retries. */
  requestCount(): number {
    return this.#requests;
  }

  /** Resolves with the first event matching `predicate`, arrived or arriving within `timeoutMs`. */
  waitFor(predicate: (event: CapturedEvent) => boolean, timeoutMs = 2_000): Promise<CapturedEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.#events.find(predicate);
        if (found) {
          stop();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        stop();
        const received = this.#events.map((event) => event.event).join(', ') || 'nothing';
        reject(new Error(`no matching event within ${timeoutMs} ms; received: ${received}`));
      }, timeoutMs);
      const stop = (): void => {
        clearTimeout(timer);
        this.#onEvents.delete(check);
      };
      this.#onEvents.add(check);
      check();
    });
  }

  /** Answers the next `count` requests with `status` and drops their events. */
  failNext(count: number, status = 500): void {
    this.#failures = { remaining: count, status };
  }

  async down(outage: Outage = 'refuse'): Promise<void> {
    if (outage === 'hang') {
      this.#hanging = true;
      return;
    }
    // Dropping kept-alive sockets too, or the client would reuse them and never see a refusal.
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Serves again on the same port; requests already hanging stay unanswered. */
  async up(): Promise<void> {
    this.#hanging = false;
    if (!this.#server.listening) await listen(this.#server, this.#port);
  }

  async close(): Promise<void> {
    this.#onEvents.clear();
    this.#server.closeAllConnections();
    if (this.#server.listening) {
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/batch/') {
      reply(res, 404, { error: 'not found' });
      return;
    }
    this.#requests += 1;
    const body = await readBody(req);
    if (this.#hanging) return;
    if (this.#failures.remaining > 0) {
      this.#failures.remaining -= 1;
      reply(res, this.#failures.status, { error: 'injected failure' });
      return;
    }

    const parsed = batchSchema.safeParse(parseJson(body, req.headers['content-encoding']));
    if (!parsed.success) {
      reply(res, 400, { error: z.prettifyError(parsed.error) });
      return;
    }
    const { api_key, batch } = parsed.data;
    this.#events.push(...batch.map((event) => ({ ...event, api_key })));
    for (const notify of this.#onEvents) notify();
    reply(res, 200, { status: 'Ok' });
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer, contentEncoding: string | undefined): unknown {
  try {
    return JSON.parse((contentEncoding === 'gzip' ? gunzipSync(body) : body).toString('utf8'));
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
