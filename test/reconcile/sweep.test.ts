import { randomBytes } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { readWatermark } from '../../src/db/repositories/reconciliation.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { orderBody } from '../support/fixtures.js';
import { must } from '../support/must.js';
import { adminOrder, useReconcileStack } from './reconcile-stack.js';

// A small bucket refilled fast: each page of a sweep of 1,000 orders asks for 552 points and is
// charged about 212, so the sweep soon runs short and is throttled from then on, each wait a fraction of a second.
const stack = useReconcileStack({ maximumAvailable: 600, restoreRate: 400 });
const { api } = stack;

const linesOfShop = async () =>
  api.database.db.selectFrom('order_lines').select(['order_line_id', 'status']).where('shop_id', '=', api.creds.shop).execute();

describe('a sweep of the Admin API', () => {
  it('over 1,000 orders in pages of 50, throttled midway, starts exactly the lines webhooks did not; a second sweep starts nothing', async () => {
    // Orders of the last hour, one second apart; one in five has a personalized line (and a plain one).
    const start = Date.now() - 3600_000;
    const orders = Array.from({ length: 1000 }, (_, i) =>
      adminOrder({
        personalized: i % 5 === 0 ? [`pers-${randomBytes(4).toString('hex')}`] : [],
        plain: 1,
        updatedAt: new Date(start + i * 1000).toISOString(),
      }),
    );
    stack.standIn.put(api.creds.shop, ...orders.map(({ order }) => order));
    const personalizedOrders = orders.filter(({ lines }) => lines.length > 0);
    // Half of them came by webhook.
    const byWebhook = personalizedOrders.filter((_, i) => i % 2 === 0);
    for (const { order, lines } of byWebhook) {
      const response = await api.webhook(api.app, orderBody(order.id, lines, api.creds.shop));
      expect(response.statusCode, response.body).toBe(200);
    }
    const missed = personalizedOrders.filter((_, i) => i % 2 === 1).flatMap(({ lines }) => lines);
    // Throttled by the bucket, and by a THROTTLED answer, a 429 and a 502 on top.
    stack.standIn.failRequest(2, { kind: 'throttled' });
    stack.standIn.failRequest(3, { kind: 'http429', retryAfter: '0.2' });
    stack.standIn.failRequest(9, { kind: 'http', status: 502 });

    const first = await stack.sweep();

    expect(first).toMatchObject({ kind: 'sweep', orders_seen: 1000, lines_started: missed.length, orders_cancelled: 0 });
    expect(first.updated_through).toBe(orders.at(-1)?.order.updatedAt);
    const pages = stack.standIn.requests.filter((request) => request.status === 200 && !request.throttled);
    expect(pages.map((request) => request.variables.first)).toEqual(Array.from({ length: 20 }, () => 50));
    expect(stack.standIn.countBy((request) => request.throttled)).toBeGreaterThan(0);
    expect(stack.standIn.countBy((request) => request.status === 429)).toBe(1);
    expect(stack.standIn.countBy((request) => request.status === 502)).toBe(1);
    for (const line of missed) {
      expect(await api.workflowExists(fulfillmentWorkflowId({ shop_id: api.creds.shop, ...line }))).toBe(true);
    }
    expect(await linesOfShop()).toHaveLength(personalizedOrders.length);
    expect(await readWatermark(api.database.db, api.creds.shop)).toEqual(new Date(first.updated_through ?? ''));

    const second = await stack.sweep();
    // Only the overlap before the watermark is read again, and nothing in it starts.
    expect(second.lines_started).toBe(0);
    expect(second.orders_seen).toBeGreaterThan(0);
    expect(second.orders_seen).toBeLessThan(1000);
    expect(await linesOfShop()).toHaveLength(personalizedOrders.length);

    const reported = await stack.posthog.waitFor(
      (event) =>
        event.event === 'reconcile.completed' &&
        event.properties.reconcile_id !== undefined &&
        event.properties.lines_started === missed.length,
      5_000,
    );
    expect(reported.properties).toMatchObject({ shop_id: api.creds.shop, orders_seen: 1000, kind: 'sweep' });
  });

  it('reads an order of 600 line items whole, starting each personalized line once, also those of its later line item pages', async () => {
    const since = new Date().toISOString();
    const { order, lines } = adminOrder({ personalized: ['pers-600-a', 'pers-600-b', 'pers-600-c', 'pers-600-d'], plain: 596 });
    // The page holds the first 8 line items; the rest come 250 at a time (8–257, 258–507, 508–599).
    const [personalized, plain] = [order.lineItems.slice(0, 4), order.lineItems.slice(4)];
    [3, 200, 400, 599].forEach((at, i) => plain.splice(at, 0, must(personalized[i], 'a personalized line item')));
    stack.standIn.put(api.creds.shop, { ...order, lineItems: plain });
    const before = stack.standIn.requests.length;

    const summary = await stack.sweep({ since });

    expect(summary).toMatchObject({ orders_seen: 1, lines_started: 4, orders_cancelled: 0 });
    const asked = stack.standIn.requests.slice(before).filter((request) => request.status === 200 && !request.throttled);
    expect(asked.map(({ operation, cost }) => [operation, cost])).toEqual([
      ['ReconcileOrders', 552],
      ['ReconcileOrder', 253],
      ['ReconcileOrder', 253],
      ['ReconcileOrder', 253],
    ]);
    for (const line of lines) {
      expect(await api.workflowExists(fulfillmentWorkflowId({ shop_id: api.creds.shop, ...line }))).toBe(true);
    }
    const rows = await api.database.db
      .selectFrom('order_lines')
      .select('order_line_id')
      .where('shop_id', '=', api.creds.shop)
      .where('order_id', '=', order.id)
      .execute();
    expect(rows.map((row) => row.order_line_id).sort()).toEqual(lines.map((line) => line.order_line_id).sort());
    // Read again by id, whole again: nothing starts twice.
    expect(await stack.sweep({ order_id: order.id })).toMatchObject({ orders_seen: 1, lines_started: 0 });
  });

  it('closes the lines of an order it finds cancelled, and starts nothing of a cancelled order no webhook brought', async () => {
    const since = new Date().toISOString();
    const delivered = adminOrder({ personalized: ['pers-cancelled-a', 'pers-cancelled-b'] });
    expect((await api.webhook(api.app, orderBody(delivered.order.id, delivered.lines, api.creds.shop))).statusCode).toBe(200);
    const cancelledAt = new Date().toISOString();
    const unseen = adminOrder({ personalized: ['pers-never-started'], cancelledAt, updatedAt: cancelledAt });
    stack.standIn.put(api.creds.shop, { ...delivered.order, cancelledAt, updatedAt: cancelledAt }, unseen.order);

    const summary = await stack.sweep({ since });

    expect(summary).toMatchObject({ orders_seen: 2, orders_cancelled: 2, lines_started: 0 });
    // The cancellation is recorded as orders/cancelled records it; the lines (no worker runs them
    // here) are left to their workflows, each told to close.
    const order = await api.database.db
      .selectFrom('orders')
      .select('cancelled_at')
      .where('shop_id', '=', api.creds.shop)
      .where('order_id', '=', delivered.order.id)
      .executeTakeFirst();
    expect(order?.cancelled_at).toEqual(new Date(cancelledAt));
    for (const line of delivered.lines) {
      expect(await api.signalNames(fulfillmentWorkflowId({ shop_id: api.creds.shop, ...line }))).toContain('close');
    }
    expect(await api.workflowExists(fulfillmentWorkflowId({ shop_id: api.creds.shop, ...must(unseen.lines[0], 'a line') }))).toBe(false);
  });

  it('reconciles one order by id', async () => {
    const { order, lines } = adminOrder({
      personalized: ['pers-one'],
      plain: 2,
      updatedAt: new Date(Date.now() - 90 * 86400_000).toISOString(),
    });
    stack.standIn.put(api.creds.shop, order);
    const summary = await stack.sweep({ order_id: order.id });
    expect(summary).toMatchObject({ kind: 'order', orders_seen: 1, lines_started: 1, updated_through: null });
    expect(await api.workflowExists(fulfillmentWorkflowId({ shop_id: api.creds.shop, ...must(lines[0], 'a line') }))).toBe(true);
  });

  it('fails at once, with the reason, when Shopify refuses the token', async () => {
    const failure = await stack.sweep({ shop_id: stack.revokedShop }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause).toMatchObject({ type: 'shopify_unauthorized' });
    expect(cause.message).toMatch(/refused the access token \(HTTP 401\)/);
  });

  it('keeps the token out of workflow histories and log lines; Shopify got it in its header', async () => {
    expect(stack.standIn.countBy((request) => request.token === stack.token)).toBeGreaterThan(0);
    const histories: string[] = [];
    for await (const execution of api.client.workflow.list({ query: `TaskQueue = '${stack.reconcileQueue}'` })) {
      histories.push(
        JSON.stringify(historyToJSON(await api.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory())),
      );
    }
    expect(histories.length).toBeGreaterThan(0);
    for (const history of histories) expect(history).not.toContain(stack.token);
    expect(stack.workerLogs.lines.length).toBeGreaterThan(0);
    expect(stack.workerLogs.text).not.toContain(stack.token);
    expect(stack.workerLogs.text).toContain('reconcile completed');
    api.expectNoSecretsLogged();
    expect(api.logs.text).not.toContain(stack.token);
  });
});
