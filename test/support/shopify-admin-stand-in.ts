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
  /** The most a single query may be priced at (Shopify: 1000); above it the answer is `MAX_COST_EXCEEDED`. */
  maxQueryCost?: number;
  /** Answers every line item of an order at once and without `lineItems.pageInfo`, as a plainer responder may. */
  allLineItemsAtOnce?: boolean;
}

/** A line item's price: an object (its scalars and attribute pairs free). */
const LINE_ITEM_COST = 1;

/**
 * The Admin GraphQL API of some shops, over HTTP as Shopify serves it: `POST
 * /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token` (401 without a known one),
 * the `orders(first, after, sortKey: UPDATED_AT, query: "updated_at:>='…'")` and `order(id:)`
 * queries with GIDs, `legacyResourceId`, opaque cursors and `pageInfo`, their `lineItems(first,
 * after)` paged the same way; each query priced as Shopify prices it (`MAX_COST_EXCEEDED` above
 * the cap), a leaky bucket that must hold the requested cost and is charged the actual one, its
 * state in every answer's `extensions.cost` (`THROTTLED` when short), and faults on demand (429
 * with `Retry-After`, 5xx).
 */
export class ShopifyAdminStandIn {
  readonly requests: {
    shop: string;
    token: string;
    /** The query's operation name (`ReconcileOrders`, …), '' before the body is read. */
    operation: string;
    variables: Record<string, unknown>;
    /** Its requested cost, 0 unless priced. */
    cost: number;
    status: number;
    throttled: boolean;
  }[] = [];
  readonly #orders = new Map<string, StandInOrder[]>();
  readonly #faults = new Map<number, AdminFault>();
  readonly #maximum: number;
  readonly #restoreRate: number;
  readonly #maxQueryCost: number;
  readonly #allLineItemsAtOnce: boolean;
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
    this.#maxQueryCost = options.maxQueryCost ?? 1000;
    this.#allLineItemsAtOnce = options.allLineItemsAtOnce ?? false;
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
    const record = {
      shop: shop ?? '',
      token: typeof token === 'string' ? token : '',
      operation: '',
      variables: {},
      cost: 0,
      status: 200,
      throttled: false,
    };
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
    record.operation = /^\s*query\s+(\w+)/.exec(query)?.[1] ?? '';
    record.variables = variables;
    const fault = this.#faults.get(this.requests.length);
    if (fault?.kind === 'http429')
      return reply(
        429,
        { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' },
        { 'retry-after': fault.retryAfter },
      );
    if (fault?.kind === 'http') return reply(fault.status, { errors: 'Internal Server Error' });

    const request = readRequest(query, variables);
    if (typeof request === 'string') return reply(200, { errors: [{ message: request, extensions: { code: 'BAD_REQUEST' } }] });
    const cost = requestedCost(request);
    record.cost = cost;
    // Priced before it runs: above the cap it is refused, whatever the bucket holds, in Shopify's words.
    if (cost > this.#maxQueryCost) {
      return reply(200, {
        errors: [
          {
            message: `Query cost is ${cost}, which exceeds the single query max cost limit (${this.#maxQueryCost}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost, maxCost: this.#maxQueryCost, documentation: DOCUMENTATION },
          },
        ],
      });
    }
    this.refill();
    if (fault?.kind === 'throttled' || this.#available < cost) {
      record.throttled = true;
      return reply(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: DOCUMENTATION } }],
        extensions: { cost: this.cost(cost, 0) },
      });
    }
    const { data, actual } = request.orders
      ? this.ordersPage(shop, request.orders, request.lineItems, variables)
      : this.findOrder(shop, request.lineItems, variables);
    // The bucket must hold the requested cost; what is taken from it is the actual cost, of what came back.
    this.#available -= actual;
    return reply(200, { data, extensions: { cost: this.cost(cost, actual) } });
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
  private ordersPage(
    shop: string,
    { first, after: cursor }: Connection,
    lineItems: Connection | undefined,
    variables: Record<string, unknown>,
  ) {
    const since = /updated_at:>='([^']+)'/.exec(typeof variables.query === 'string' ? variables.query : '')?.[1];
    const from = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
    const sorted = (this.#orders.get(shop) ?? [])
      .filter((order) => Date.parse(order.updatedAt) >= from)
      .sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    const after = typeof cursor === 'string' ? decodeCursor(cursor) : undefined;
    const start = after ? sorted.findIndex((order) => position(order) > after) : 0;
    const orders = start < 0 ? [] : sorted.slice(start, start + first);
    const last = orders.at(-1);
    const nodes = orders.map((order) => this.toNode(order, lineItems));
    return {
      data: {
        orders: {
          nodes: nodes.map(({ node }) => node),
          pageInfo: { hasNextPage: start >= 0 && start + first < sorted.length, endCursor: last ? encodeCursor(position(last)) : null },
        },
      },
      actual: 2 + nodes.reduce((sum, { actual }) => sum + actual, 0),
    };
  }

  /** `order(id:)`, its line items `first` after the `after` of its `lineItems`. */
  private findOrder(shop: string, lineItems: Connection | undefined, variables: Record<string, unknown>) {
    const gid = String(variables.id);
    const order = (this.#orders.get(shop) ?? []).find((candidate) => `gid://shopify/Order/${candidate.id}` === gid);
    if (!order) return { data: { order: null }, actual: 1 };
    const { node, actual } = this.toNode(order, lineItems);
    return { data: { order: node }, actual };
  }

  /** An order as a query's node, and its actual cost: 1, and 2 + a point per line item returned. */
  private toNode(order: StandInOrder, lineItems: Connection | undefined) {
    const after = lineItems?.after;
    const start = typeof after === 'string' ? order.lineItems.findIndex((item) => item.id === decodeCursor(after)) + 1 : 0;
    const items = this.#allLineItemsAtOnce ? order.lineItems : order.lineItems.slice(start, start + (lineItems?.first ?? 0));
    const last = items.at(-1);
    const pageInfo = { hasNextPage: start + items.length < order.lineItems.length, endCursor: last ? encodeCursor(last.id) : null };
    const node = {
      id: `gid://shopify/Order/${order.id}`,
      legacyResourceId: order.id,
      cancelledAt: order.cancelledAt,
      updatedAt: order.updatedAt,
      lineItems: {
        nodes: items.map((item) => ({
          id: `gid://shopify/LineItem/${item.id}`,
          quantity: item.quantity,
          customAttributes: item.customAttributes,
        })),
        ...(this.#allLineItemsAtOnce ? {} : { pageInfo }),
      },
    };
    return { node, actual: 1 + (lineItems ? 2 + items.length * LINE_ITEM_COST : 0) };
  }
}

const DOCUMENTATION = 'https://shopify.dev/api/usage/rate-limits';

/** A connection as a query asks for it: how many nodes, after which cursor. */
interface Connection {
  first: number;
  after: unknown;
}
/** What a query asks for: a page of `orders`, or (without it) one `order`; each order with its `lineItems` or not. */
interface PricedRequest {
  orders: Connection | undefined;
  lineItems: Connection | undefined;
}

/** The query read as far as pricing and answering it need, or why Shopify would refuse it. */
function readRequest(query: string, variables: Record<string, unknown>): PricedRequest | string {
  const orders = connection(query, 'orders', variables);
  const lineItems = connection(query, 'lineItems', variables);
  if (typeof orders === 'string') return orders;
  if (typeof lineItems === 'string') return lineItems;
  if (!orders && !/\border\(/.test(query)) return 'the stand-in answers only orders(…) and order(id:)';
  return { orders, lineItems };
}

/** Shopify's price of a query, before it runs: an object 1, a connection 2 + `first` × its node's price, scalars 0. */
function requestedCost({ orders, lineItems }: PricedRequest): number {
  const order = 1 + (lineItems ? 2 + lineItems.first * LINE_ITEM_COST : 0);
  return orders ? 2 + orders.first * order : order;
}

/** The connection `field(…)` of the query: its `first` (a literal or a variable), undefined when not asked for. */
function connection(query: string, field: string, variables: Record<string, unknown>): Connection | string | undefined {
  const args = new RegExp(`\\b${field}\\(([^)]*)\\)`).exec(query)?.[1];
  if (args === undefined) return undefined;
  const first = argument(args, 'first', variables);
  // Shopify's bounds on a connection page.
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > 250) {
    return `${field}: first must be an integer from 1 to 250`;
  }
  return { first, after: argument(args, 'after', variables) };
}

/** An argument of a connection: its literal value, or the variable it names. */
function argument(args: string, name: string, variables: Record<string, unknown>): unknown {
  const value = new RegExp(`\\b${name}:\\s*(\\$\\w+|\\d+|"[^"]*")`).exec(args)?.[1];
  if (value === undefined) return undefined;
  return value.startsWith('$') ? variables[value.slice(1)] : JSON.parse(value);
}

/** Where an order sits in the sort: its update time, then its id (padded, so text order is numeric order). */
const position = (order: StandInOrder): string => `${String(Date.parse(order.updatedAt)).padStart(15, '0')}:${order.id.padStart(20, '0')}`;
const encodeCursor = (at: string): string => Buffer.from(JSON.stringify({ last: at })).toString('base64url');
const decodeCursor = (cursor: string): string => (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { last: string }).last;
