import type { z } from 'zod';
import { ShopifyAdminError } from './admin-errors.js';
import {
  graphqlAnswerSchema,
  ORDER_QUERY,
  orderDataSchema,
  orderGid,
  ORDERS_PAGE_SIZE,
  ORDERS_QUERY,
  ordersDataSchema,
  updatedSinceQuery,
  type AdminOrder,
  type OrderAnswer,
  type OrdersPage,
} from './orders-query.js';
import { retryAfterMs, throttledWaitMs } from './throttle.js';

/** Where the Admin API is: `SHOPIFY_ADMIN_ORIGIN` (unset: the shop's own domain) and `SHOPIFY_API_VERSION`. */
export interface ShopifyAdminSettings {
  origin: string | undefined;
  apiVersion: string;
}

export const adminGraphqlUrl = ({ origin, apiVersion }: ShopifyAdminSettings, shopId: string): string =>
  `${(origin ?? `https://${shopId}`).replace(/\/+$/, '')}/admin/api/${apiVersion}/graphql.json`;

export interface AdminCallOptions {
  /** Waits out throttling (the activity's cancellable sleep, which heartbeats); told why, for its log. */
  wait: (ms: number, why: string) => Promise<void>;
  /** Ends a call in flight (the activity's cancellation). */
  signal?: AbortSignal;
  /** One HTTP request's budget. */
  requestTimeoutMs?: number;
  /** Told after each further page of an order's line items, so a long read shows it is alive (the activity heartbeats). */
  progress?: (details: { order_id: string; line_items: number }) => void;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The Admin GraphQL API of one shop, as reconciliation reads it. Throttling (HTTP 429, or a
 * `THROTTLED` error) is waited out, as long as it lasts; other failures are `ShopifyAdminError`s.
 * The token stays in a private field: logging or serializing the client never shows it.
 */
export class ShopifyAdminClient {
  readonly #token: string;

  constructor(
    readonly shopId: string,
    token: string,
    private readonly settings: ShopifyAdminSettings,
    private readonly options: AdminCallOptions,
  ) {
    this.#token = token;
  }

  /** One page of the shop's orders updated at or after `since`, oldest update first, each with all its line items. */
  async ordersUpdatedSince(since: Date, after: string | null): Promise<OrdersPage> {
    const variables = { first: ORDERS_PAGE_SIZE, after, query: updatedSinceQuery(since) };
    const { orders } = await this.query(ORDERS_QUERY, variables, ordersDataSchema);
    const nodes: AdminOrder[] = [];
    // One order after another: their further line items share the shop's bucket.
    for (const order of orders.nodes) nodes.push(await this.withAllLineItems(order));
    return { nodes, pageInfo: orders.pageInfo };
  }

  /** One order by its numeric id, with all its line items; null when the shop has no such order. */
  async order(orderId: string): Promise<AdminOrder | null> {
    const { order } = await this.query(ORDER_QUERY, { id: orderGid(orderId), after: null }, orderDataSchema);
    return order && this.withAllLineItems(order);
  }

  /** The order with the line items after those answered, read a connection page at a time while `pageInfo` says more follow. */
  private async withAllLineItems(order: OrderAnswer): Promise<AdminOrder> {
    const nodes = [...order.lineItems.nodes];
    let pageInfo = order.lineItems.pageInfo;
    while (pageInfo?.hasNextPage) {
      if (pageInfo.endCursor === null) throw this.error('rejected', `said ${order.id} has more line items but gave no cursor`);
      const { order: rest } = await this.query(ORDER_QUERY, { id: order.id, after: pageInfo.endCursor }, orderDataSchema);
      // Deleted mid-read: another try of the page reads the shop as it is now.
      if (!rest) throw this.error('unavailable', `no longer has ${order.id}, whose line items were being read`);
      nodes.push(...rest.lineItems.nodes);
      pageInfo = rest.lineItems.pageInfo;
      this.options.progress?.({ order_id: order.legacyResourceId, line_items: nodes.length });
    }
    return { ...order, lineItems: { nodes } };
  }

  private async query<T>(document: string, variables: Record<string, unknown>, schema: z.ZodType<T>): Promise<T> {
    const body = JSON.stringify({ query: document, variables });
    for (;;) {
      const response = await this.post(body);
      if (response.status === 429) {
        await response.body?.cancel();
        await this.options.wait(retryAfterMs(response.headers.get('retry-after')), 'HTTP 429');
        continue;
      }
      this.refuseUnlessOk(response);
      const answer = graphqlAnswerSchema.safeParse(await this.json(response));
      if (!answer.success) throw this.error('rejected', 'answered something that is not a GraphQL response');
      const errors = answer.data.errors ?? [];
      if (errors.some((error) => error.extensions?.code === 'THROTTLED')) {
        await this.options.wait(throttledWaitMs(answer.data.extensions?.cost), 'THROTTLED');
        continue;
      }
      if (errors.length > 0) {
        const codes = new Set(errors.map((error) => error.extensions?.code));
        const messages = errors.map((error) => error.message.slice(0, 200)).join('; ');
        if (codes.has('ACCESS_DENIED')) throw this.error('unauthorized', `refused the query: ${messages}`);
        if (codes.has('MAX_COST_EXCEEDED'))
          throw this.error('too_costly', `refused the query as too costly (MAX_COST_EXCEEDED): ${messages}`);
        throw this.error('rejected', `refused the query: ${messages}`);
      }
      const data = schema.safeParse(answer.data.data);
      if (!data.success) {
        const issue = data.error.issues[0];
        throw this.error('rejected', `answered an unexpected shape (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`);
      }
      return data.data;
    }
  }

  private async post(body: string): Promise<Response> {
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    try {
      return await fetch(adminGraphqlUrl(this.settings, this.shopId), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-shopify-access-token': this.#token },
        body,
        signal,
      });
    } catch (error) {
      if (this.options.signal?.aborted) throw error;
      throw this.error('unavailable', `could not be reached (${networkReason(error)})`);
    }
  }

  private refuseUnlessOk(response: Response): void {
    const { status } = response;
    if (status === 401 || status === 403) {
      throw this.error(
        'unauthorized',
        `refused the access token (HTTP ${status}): check SHOPIFY_ADMIN_TOKENS and the app's read_orders scope`,
      );
    }
    if (status >= 500) throw this.error('unavailable', `answered HTTP ${status}`);
    if (status < 200 || status >= 300) throw this.error('rejected', `answered HTTP ${status}`);
  }

  private async json(response: Response): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      // A proxy's HTML error page, or a body cut short: worth another try.
      throw this.error('unavailable', 'answered a body that is not JSON');
    }
  }

  private error(kind: ShopifyAdminError['kind'], what: string): ShopifyAdminError {
    return new ShopifyAdminError(kind, `The Admin API of ${this.shopId} ${what}`);
  }
}

/** fetch's `TypeError: fetch failed` says little; its cause (ECONNREFUSED, a timeout) says why. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? `${cause.name}: ${cause.message}`.slice(0, 200) : 'network error';
}
