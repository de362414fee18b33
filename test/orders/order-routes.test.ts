import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordLineFailure } from '../../src/db/repositories/failures.js';
import { registerOrderLines, setLineWorking, type OrderLineIdentity } from '../../src/db/repositories/order-lines.js';
import { closeLine } from '../../src/db/repositories/orders.js';
import type { LineStatus, LineStatusView } from '../../src/domain/line-status.js';
import type { OrderStatus } from '../../src/domain/order-status.js';
import { bearer, expectError, linePath, PUBLIC_BASE, sha256, useApiApp } from '../support/api-app.js';
import { buildTestApp } from '../support/capture-app.js';
import { bigId, makePng } from '../support/fixtures.js';
import { must } from '../support/must.js';

interface OrderBody {
  shop_id: string;
  order_id: string;
  status: OrderStatus;
  lines: LineStatusView[];
}
interface OrderUrls {
  order_id: string;
  expires_at: string;
  lines: {
    order_line_id: string;
    status: LineStatus;
    url: string | null;
    sha256: string | null;
    size_bytes: number | null;
    content_type: string | null;
  }[];
}

const api = useApiApp();
const { creds } = api;
let app: FastifyInstance;
beforeAll(() => {
  ({ app } = api);
});

type Settable = Exclude<LineStatus, 'redacted'>;

/** An order of the test shop whose lines are in these statuses, as the workflows would leave them. */
async function orderWith(statuses: Settable[]) {
  const order_id = bigId();
  const db = api.database.db;
  const lines: (OrderLineIdentity & { bytes?: Buffer })[] = [];
  for (const [index, status] of statuses.entries()) {
    const line = api.newLine({ order_id });
    await registerOrderLines(db, [line]);
    if (status === 'persisted' || status === 'withheld') {
      const bytes = makePng(20 + index, 10);
      await api.persistedLine(bytes, line);
      lines.push({ ...line, bytes });
    } else {
      lines.push(line);
    }
    if (status === 'waiting_for_preview') await setLineWorking(db, line, 'waiting_for_preview');
    if (status === 'failed') {
      await recordLineFailure(db, line, {
        failure_key: `f-${line.order_line_id}`,
        attempt: 1,
        reason_code: 'asset_invalid',
        message: 'not an image',
        details: {},
      });
    }
    if (status === 'cancelled' || status === 'withheld') await closeLine(db, line);
  }
  return { shop_id: creds.shop, order_id, lines };
}

const orderPath = (order: { shop_id: string; order_id: string }, suffix = '') =>
  `/v1/shops/${order.shop_id}/orders/${order.order_id}${suffix}`;
const getOrder = (order: { shop_id: string; order_id: string }, token = creds.merchantToken, target = app) =>
  target.inject({ method: 'GET', url: orderPath(order), headers: bearer(token) });
const signOrder = (order: { shop_id: string; order_id: string }, payload?: object, token = creds.merchantToken, target = app) =>
  target.inject({ method: 'POST', url: orderPath(order, '/signed-urls'), headers: bearer(token), ...(payload ? { payload } : {}) });

describe('GET /v1/shops/:shop_id/orders/:order_id', () => {
  it.each<[OrderStatus, Settable[]]>([
    ['in_progress', ['persisted', 'processing']],
    ['in_progress', ['waiting_for_preview', 'cancelled']],
    ['needs_attention', ['persisted', 'failed', 'processing']],
    ['ready_for_print', ['persisted', 'persisted']],
    ['ready_for_print', ['persisted', 'cancelled', 'withheld']],
    ['closed', ['cancelled', 'withheld']],
  ])('is %s with lines %j, each the line route’s own status object', async (status, statuses) => {
    const order = await orderWith(statuses);
    const response = await getOrder(order);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<OrderBody>();
    expect(body).toMatchObject({ shop_id: order.shop_id, order_id: order.order_id, status });
    expect(body.lines.map((line) => line.status).sort()).toEqual([...statuses].sort());
    for (const line of body.lines) {
      const own = await app.inject({ method: 'GET', url: linePath(line), headers: bearer(creds.merchantToken) });
      expect(line).toEqual(own.json());
    }
  });

  it('answers the operator too, and 404 for an order it does not know or another shop’s merchant', async () => {
    const order = await orderWith(['persisted']);
    expect((await getOrder(order, creds.operatorToken)).statusCode).toBe(200);
    expectError(await getOrder(order, creds.otherMerchantToken), 404, 'not_found');
    expectError(await getOrder({ ...order, shop_id: creds.otherShop }, creds.otherMerchantToken), 404, 'not_found');
    expectError(await getOrder({ shop_id: creds.shop, order_id: bigId() }), 404, 'not_found');
    expectError(await getOrder({ shop_id: creds.shop, order_id: 'not-an-id' }), 404, 'not_found');
    expectError(await app.inject({ method: 'GET', url: orderPath(order) }), 401, 'unauthorized');
  });
});

describe('POST /v1/shops/:shop_id/orders/:order_id/signed-urls', () => {
  it('signs every persisted line of a ready order, null for the lines not to print, each URL serving its bytes', async () => {
    const order = await orderWith(['persisted', 'cancelled', 'persisted', 'withheld']);
    const response = await signOrder(order, { expires_in: 3600, download: true });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<OrderUrls>();
    expect(body.order_id).toBe(order.order_id);
    const expiresIn = (Date.parse(body.expires_at) - Date.now()) / 1000;
    expect(expiresIn).toBeGreaterThan(3600 - 5);
    expect(expiresIn).toBeLessThanOrEqual(3600);
    expect(body.lines).toHaveLength(4);
    api.clock = Date.now();
    for (const line of order.lines) {
      const signed = must(
        body.lines.find((entry) => entry.order_line_id === line.order_line_id),
        'the line in the answer',
      );
      if (signed.status !== 'persisted') {
        expect(signed).toEqual({
          order_line_id: line.order_line_id,
          status: signed.status,
          url: null,
          sha256: null,
          size_bytes: null,
          content_type: null,
        });
        continue;
      }
      const bytes = must(line.bytes, 'the persisted bytes');
      expect(signed).toMatchObject({ sha256: sha256(bytes), size_bytes: bytes.length, content_type: 'image/png' });
      const file = await app.inject({ method: 'GET', url: must(signed.url, 'a URL').replace(PUBLIC_BASE, '') });
      expect(file.statusCode).toBe(200);
      expect(file.rawPayload.equals(bytes)).toBe(true);
      expect(file.headers['content-disposition']).toContain(`${line.order_line_id}.png`);
    }
    expect(body.lines.filter((line) => line.url !== null)).toHaveLength(2);
  });

  it.each<[OrderStatus, Settable[]]>([
    ['in_progress', ['persisted', 'processing']],
    ['needs_attention', ['persisted', 'failed']],
    ['closed', ['cancelled', 'withheld']],
  ])('answers 409 order_not_ready for an order %s', async (status, statuses) => {
    const error = expectError(await signOrder(await orderWith(statuses)), 409, 'order_not_ready');
    expect(error.details).toEqual({ status });
  });

  it('answers 404 for an unknown order or another shop’s merchant, 400 for a lifetime out of bounds', async () => {
    const order = await orderWith(['persisted']);
    expectError(await signOrder(order, undefined, creds.otherMerchantToken), 404, 'not_found');
    expectError(await signOrder({ shop_id: creds.shop, order_id: bigId() }), 404, 'not_found');
    expectError(await signOrder(order, { expires_in: 59 }), 400, 'invalid_request');
    expectError(await signOrder(order, { expires_in: 604_801 }), 400, 'invalid_request');
    expectError(await signOrder(order, { expires_in: 60, extra: true }), 400, 'invalid_request');
    expect((await signOrder(order, undefined, creds.operatorToken)).statusCode).toBe(200);
  });
});

describe('the lines of an order', () => {
  it('are read in one database round trip, however many lines the order has', async () => {
    const queries: string[] = [];
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        queries.push(args.queryId.queryId);
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    };
    const counted = await buildTestApp({ ...api.base, db: api.database.db.withPlugin(counting) });
    try {
      const order = await orderWith(['persisted', 'persisted', 'persisted', 'cancelled', 'withheld', 'persisted']);
      expect((await getOrder(order, creds.merchantToken, counted)).statusCode).toBe(200);
      expect(queries).toHaveLength(1);
      queries.length = 0;
      expect((await signOrder(order, undefined, creds.merchantToken, counted)).statusCode).toBe(200);
      expect(queries).toHaveLength(1);
    } finally {
      await counted.close();
    }
  });
});
