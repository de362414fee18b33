import { z } from 'zod';
import type { Db } from '../db/connect.js';
import { getOrderLineViews } from '../db/repositories/order-lines.js';
import { lineViewSchema, publicLineView, type LineStatusView } from '../domain/line-status.js';
import { orderLineUrlSchema } from '../domain/order-events.js';
import { orderStatus, orderStatusSchema } from '../domain/order-status.js';
import type { RequestLog } from '../logging/request-log.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import { signedUrlsTotal } from '../telemetry/metrics/metrics.js';
import type { ServiceDeps } from './deps.js';
import { ERRORS } from './errors.js';
import { canAccessShop, type Principal } from './principal.js';
import { signFinalAsset, type ErrorLogger, type signedUrlRequestSchema } from './signed-urls.js';

export interface OrderKey {
  shop_id: string;
  order_id: string;
}

export const orderViewSchema = z.object({
  shop_id: z.string(),
  order_id: z.string(),
  status: orderStatusSchema,
  lines: z.array(lineViewSchema),
});
export type OrderView = z.infer<typeof orderViewSchema>;

/** The order with its lines' whole status objects, as the services and the order events read it. */
export interface OrderState extends Omit<OrderView, 'lines'> {
  lines: LineStatusView[];
}

export type OrderLineUrl = z.infer<typeof orderLineUrlSchema>;

export const orderUrlsResponseSchema = z.object({
  order_id: z.string(),
  expires_at: z.string().describe('When the first of the URLs expires'),
  lines: z.array(orderLineUrlSchema.omit({ expires_at: true })),
});

/** The order's lines in one query, or undefined when printready knows no line of it. */
export async function readOrder(db: Db, key: OrderKey): Promise<OrderState | undefined> {
  const lines = await getOrderLineViews(db, key);
  if (lines.length === 0) return undefined;
  return { shop_id: key.shop_id, order_id: key.order_id, status: orderStatus(lines.map((line) => line.status)), lines };
}

/** The order and its lines, if the caller may see it; another shop's order is as absent as an unknown one. */
async function visibleOrder(db: Db, principal: Principal, key: OrderKey, log: RequestLog): Promise<OrderState> {
  if (!canAccessShop(principal, key.shop_id)) throw ERRORS.notFound('Order not found');
  log.bind({ shop_id: key.shop_id, order_id: key.order_id });
  const order = await readOrder(db, key);
  if (!order) throw ERRORS.notFound('Order not found');
  return order;
}

/** `GET …/orders/:order_id`: a redacted line shows only what identifies it, as on the line's own route. */
export async function orderView(db: Db, principal: Principal, key: OrderKey, log: RequestLog): Promise<OrderView> {
  const order = await visibleOrder(db, principal, key, log);
  return { ...order, lines: order.lines.map(publicLineView) };
}

/** Lines signed at once; storage is asked a few at a time, not once per line of a large order all together. */
const SIGNING_CONCURRENCY = 16;

/**
 * Signs every persisted line of a ready order (409 `order_not_ready` otherwise), with the same
 * code as the line's own route; cancelled and withheld lines are listed with nulls.
 */
export async function signOrderLines(
  storage: ObjectStorage,
  order: OrderState,
  options: { expiresInSeconds: number; download: boolean },
  logger: ErrorLogger,
): Promise<OrderLineUrl[]> {
  if (order.status !== 'ready_for_print') throw ERRORS.orderNotReady(order.status);
  const signed: OrderLineUrl[] = [];
  for (let start = 0; start < order.lines.length; start += SIGNING_CONCURRENCY) {
    const batch = order.lines.slice(start, start + SIGNING_CONCURRENCY).map(async (line): Promise<OrderLineUrl> => {
      const asset = line.final_asset;
      if (line.status !== 'persisted' || !asset) {
        return {
          order_line_id: line.order_line_id,
          status: line.status,
          url: null,
          expires_at: null,
          sha256: null,
          size_bytes: null,
          content_type: null,
        };
      }
      const { url, expires_at } = await signFinalAsset(storage, line.order_line_id, asset, options, logger);
      const { sha256, size_bytes, content_type } = asset;
      return { order_line_id: line.order_line_id, status: line.status, url, expires_at, sha256, size_bytes, content_type };
    });
    signed.push(...(await Promise.all(batch)));
  }
  return signed;
}

/** `POST …/orders/:order_id/signed-urls`: every line's URL of a ready order, the lines read in one query. */
export async function issueOrderUrls(
  deps: ServiceDeps,
  principal: Principal,
  key: OrderKey,
  options: NonNullable<z.infer<typeof signedUrlRequestSchema>>,
  log: RequestLog,
): Promise<z.infer<typeof orderUrlsResponseSchema>> {
  const order = await visibleOrder(deps.db, principal, key, log);
  const lines = await signOrderLines(
    deps.storage,
    order,
    { expiresInSeconds: options.expires_in ?? deps.config.SIGNED_URL_TTL_SECONDS, download: options.download ?? false },
    log.logger,
  );
  const issued = lines.flatMap((line) => (line.expires_at ? [line.expires_at] : []));
  signedUrlsTotal.inc(issued.length);
  // A ready order has a persisted line at least, so a URL at least.
  const expiresAt = issued.sort()[0];
  if (!expiresAt) throw ERRORS.orderNotReady(order.status);
  log.logger.info({ urls: issued.length, expires_at: expiresAt, download: Boolean(options.download) }, 'order signed URLs issued');
  return { order_id: order.order_id, expires_at: expiresAt, lines: lines.map(({ expires_at: _expires, ...line }) => line) };
}
