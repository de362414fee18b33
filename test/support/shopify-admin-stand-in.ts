import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An order as the stand-in keeps it: numeric ids as text (above 2^53), its line items' attributes. */
export interface StandInOrder {
  id: string;
  updatedAt: string;
  cancelledAt: string | null;
  lineItems: { id: string; quantity: number; customAttributes: { key: string; value: string | null }[] }[];
}

/** A failure the stand-in answers instead of a query, as Shopify can. */
export type AdminFault = { kind: 'throttled' } | { kind: 'http429'; retryAfter: string } | { kind: 'http'; status: number };

export interface StandInOptions {
  /** The leaky bucket: its size and how many points come back per second (Shopify: 1000 and 100 on Standard). */
  maximumAvailable?: number;
  restoreRate?: number;
}

/** What the stand-in charges per query: Shopify's rule, 2 + the objects requested per connection, kept flat here. */
const queryCost = (first: number) => 2 + first;

/**
 * The Admin GraphQL API of some shops, over HTTP as Shopify serves it: `POST
 * /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token` (401 without a known one),
 * the `orders(first, after, sortKey: UPDATED_AT, query: "updated_at:>='…'")` and `order(id:)`
 * queries with GIDs, `legacyResourceId`, opaque cursors and `pageInfo`, a leaky bucket whose
 * state every answer reports in `extensions.cost` (and which answers `THROTTLED` when empty),
 * and faults on demand (429 with `Retry-After`, 5xx).
 */
export class ShopifyAdminStandIn {
  readonly requests: { shop: string; token: string; variables: Record<string, unknown>; status: number; throttled: boolean }[] = [];
  readonly #orders = new Map<string, StandInOrder[]>();
  readonly #faults = new Map<number, AdminFault>();
  readonly #maximum: number;
  readonly #restoreRate: number;
  #available: number;
  #filledAt = Date.now();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly tokens: Map<string, string>,
    options: StandInOptions,
  ) {
    this.#maximum = options.maximumAvailable ?? 1000;
    this.#restoreRate = options.restoreRate ?? 100;
    this.#available = this.#maximum;
  }

  /** `tokens`: shop → its access token. */
  static async start(tokens: Record<string, string>, options: StandInOptions = {}): Promise<ShopifyAdminStandIn> {
    const byToken = new Map(Object.entries(tokens).map(([shop, token]) => [token, shop]));
    const ref: { standIn?: ShopifyAdminStandIn } = {};
    const server = createServer((req, res) => {
      void ref.standIn?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ref.standIn = new ShopifyAdminStandIn(server, `http://127.0.0.1:${port}`, byToken, options);
    return ref.standIn;
  }

  /** Adds or replaces orders of a shop (an update is a new `updatedAt`). */
  put(shop: string, ...orders: StandInOrder[]): void {
    const kept = (this.#orders.get(shop) ?? []).filter((order) => !orders.some((given) => given.id === order.id));
    this.#orders.set(shop, [...kept, ...orders]);
  }

  /** The `n`th request from now on (1 = the next) gets `fault` instead of an answer. */
  failRequest(n: number, fault: AdminFault): void {
    this.#faults.set(this.requests.length + n, fault);
  }

  countBy(predicate: (request: ShopifyAdminStandIn['requests'][number]) => boolean): number {
    return this.requests.filter(predicate).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<ServerResponse> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const token = req.headers['x-shopify-access-token'];
    const shop = typeof token === 'string' ? this.tokens.get(token) : undefined;
    const record = { shop: shop ?? '', token: typeof token === 'string' ? token : '', variables: {}, status: 200, throttled: false };
    this.requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      return res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !/^\/admin\/api\/[0-9a-z-]+\/graphql\.json$/.test(req.url ?? ''))
      return reply(404, { errors: 'Not Found' });
    // Shopify's own wording for a missing or unknown token.
    if (!shop) return reply(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });

    const { query, variables = {} } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      query: string;
      variables?: Record<string, unknown>;
    };
    record.variables = variables;
    const fault = this.#faults.get(this.requests.length);
    if (fault?.kind === 'http429')
      return reply(
        429,
        { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' },
        { 'retry-after': fault.retryAfter },
      );
    if (fault?.kind === 'http') return reply(fault.status, { errors: 'Internal Server Error' });

    const first = typeof variables.first === 'number' ? variables.first : 1;
    const cost = queryCost(first);
    this.refill();
    if (fault?.kind === 'throttled' || this.#available < cost) {
      record.throttled = true;
      return reply(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: { cost: this.cost(cost, 0) },
      });
    }
    this.#available -= cost;
    const data = query.includes('orders(')
      ? this.ordersPage(shop, first, variables)
      : { order: this.findOrder(shop, String(variables.id)) };
    return reply(200, { data, extensions: { cost: this.cost(cost, cost) } });
  }

  private refill(): void {
    const now = Date.now();
    this.#available = Math.min(this.#maximum, this.#available + ((now - this.#filledAt) / 1000) * this.#restoreRate);
    this.#filledAt = now;
  }

  private cost(requested: number, actual: number) {
    return {
      requestedQueryCost: requested,
      actualQueryCost: actual,
      throttleStatus: { maximumAvailable: this.#maximum, currentlyAvailable: Math.floor(this.#available), restoreRate: this.#restoreRate },
    };
  }

  /** `updated_at:>='<instant>'`, sorted by `updatedAt` then id, `first` after the cursor's position. */
  private ordersPage(shop: string, first: number, variables: Record<string, unknown>) {
    const since = /updated_at:>='([^']+)'/.exec(typeof variables.query === 'string' ? variables.query : '')?.[1];
    const from = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
    const sorted = (this.#orders.get(shop) ?? [])
      .filter((order) => Date.parse(order.updatedAt) >= from)
      .sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    const after = typeof variables.after === 'string' ? decodeCursor(variables.after) : undefined;
    const start = after ? sorted.findIndex((order) => position(order) > after) : 0;
    const nodes = start < 0 ? [] : sorted.slice(start, start + first);
    const last = nodes.at(-1);
    return {
      orders: {
        nodes: nodes.map(toNode),
        pageInfo: { hasNextPage: start >= 0 && start + first < sorted.length, endCursor: last ? encodeCursor(position(last)) : null },
      },
    };
  }

  private findOrder(shop: string, gid: string) {
    const order = (this.#orders.get(shop) ?? []).find((candidate) => `gid://shopify/Order/${candidate.id}` === gid);
    return order ? toNode(order) : null;
  }
}

const toNode = (order: StandInOrder) => ({
  id: `gid://shopify/Order/${order.id}`,
  legacyResourceId: order.id,
  cancelledAt: order.cancelledAt,
  updatedAt: order.updatedAt,
  lineItems: {
    nodes: order.lineItems.map((item) => ({
      id: `gid://shopify/LineItem/${item.id}`,
      quantity: item.quantity,
      customAttributes: item.customAttributes,
    })),
  },
});

/** Where an order sits in the sort: its update time, then its id (padded, so text order is numeric order). */
const position = (order: StandInOrder): string => `${String(Date.parse(order.updatedAt)).padStart(15, '0')}:${order.id.padStart(20, '0')}`;
const encodeCursor = (at: string): string => Buffer.from(JSON.stringify({ last: at })).toString('base64url');
const decodeCursor = (cursor: string): string => (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { last: string }).last;
