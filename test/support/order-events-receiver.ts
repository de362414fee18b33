import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { orderEventBodySchema, type OrderEventBody } from '../../src/domain/order-events.js';

/** One POST the receiver got: its raw body (what the signature covers), headers and the status it was answered. */
export interface ReceivedEvent {
  raw: string;
  body: OrderEventBody;
  headers: IncomingHttpHeaders;
  /** What the receiver answered; null while it hangs. */
  status: number | null;
  at: number;
}

/** How the receiver answers a request: a status (with Retry-After), or never (it hangs). */
export type Answer = { status: number; retryAfter?: string } | 'hang';

/**
 * The print side's event receiver (`ORDER_EVENTS_URL`), local: records each POST as sent and
 * answers 200, or what the test queued (500, 429 with Retry-After, a hang) for the next requests.
 */
export class OrderEventsReceiver {
  readonly received: ReceivedEvent[] = [];
  readonly #queued: Answer[] = [];
  readonly #hanging = new Set<ServerResponse>();
  #otherwise: Answer = { status: 200 };

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OrderEventsReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new OrderEventsReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/printready/events`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        receiver.#receive(Buffer.concat(chunks).toString('utf8'), req.headers, res);
      });
    });
    return receiver;
  }

  /** The next requests get these answers, in order; later ones get `otherwise` (200 unless set). */
  answer(...answers: Answer[]): void {
    this.#queued.push(...answers);
  }

  /** What requests get once the queued answers are used up. */
  otherwise(answer: Answer): void {
    this.#otherwise = answer;
  }

  /** The events it accepted (answered 2xx). */
  accepted(filter: (event: ReceivedEvent) => boolean = () => true): ReceivedEvent[] {
    return this.received.filter((event) => event.status !== null && event.status < 300 && filter(event));
  }

  ofOrder(orderId: string): ReceivedEvent[] {
    return this.received.filter((event) => event.body.order_id === orderId);
  }

  #receive(raw: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    const event: ReceivedEvent = { raw, body: orderEventBodySchema.parse(JSON.parse(raw)), headers, status: null, at: Date.now() };
    this.received.push(event);
    const answer = this.#queued.shift() ?? this.#otherwise;
    if (answer === 'hang') {
      this.#hanging.add(res);
      return;
    }
    event.status = answer.status;
    res.writeHead(answer.status, { 'content-type': 'text/plain', ...(answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}) });
    res.end(answer.status < 300 ? 'ok' : 'not now');
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
