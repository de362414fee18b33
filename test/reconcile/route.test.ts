import { expect, it } from 'vitest';
import type { ReconcileSummary } from '../../src/domain/reconcile.js';
import { fulfillmentWorkflowId } from '../../src/domain/ids.js';
import { bearer, expectError } from '../support/api-app.js';
import { must } from '../support/must.js';
import { adminOrder, useReconcileStack } from './reconcile-stack.js';

const stack = useReconcileStack();
const { api } = stack;

const reconcile = (shop: string, token: string, payload?: unknown) =>
  stack.app.inject({ method: 'POST', url: `/v1/shops/${shop}/reconcile`, headers: bearer(token), ...(payload ? { payload } : {}) });

it('starts a one-order reconcile for the operator: 202 with its reconcile_id, which runs to the order’s lines', async () => {
  const { order, lines } = adminOrder({ personalized: ['pers-route'] });
  stack.standIn.put(api.creds.shop, order);

  const response = await reconcile(api.creds.shop, api.creds.operatorToken, { order_id: order.id });

  expect(response.statusCode, response.body).toBe(202);
  const { reconcile_id } = response.json<{ reconcile_id: string }>();
  const summary = (await api.client.workflow.getHandle(reconcile_id).result()) as ReconcileSummary;
  expect(summary).toMatchObject({ reconcile_id, kind: 'order', lines_started: 1 });
  expect(await api.workflowExists(fulfillmentWorkflowId({ shop_id: api.creds.shop, ...must(lines[0], 'a line') }))).toBe(true);
});

it('starts a sweep now, with or without since', async () => {
  for (const payload of [undefined, { since: new Date(Date.now() - 60_000).toISOString() }]) {
    const response = await reconcile(api.creds.shop, api.creds.operatorToken, payload);
    expect(response.statusCode, response.body).toBe(202);
    const summary = (await api.client.workflow
      .getHandle(response.json<{ reconcile_id: string }>().reconcile_id)
      .result()) as ReconcileSummary;
    expect(summary.kind).toBe('sweep');
  }
});

it('answers 409 not_configured for a shop without an Admin API token, 403 to a merchant, 400 to since and order_id together', async () => {
  expectError(await reconcile(api.creds.otherShop, api.creds.operatorToken), 409, 'not_configured');
  expectError(await reconcile(api.creds.shop, api.creds.merchantToken), 403, 'forbidden');
  expectError(
    await reconcile(api.creds.shop, api.creds.operatorToken, { since: new Date().toISOString(), order_id: '1' }),
    400,
    'invalid_request',
  );
  expectError(await reconcile(api.creds.shop, api.creds.operatorToken, { order_id: 'gid://shopify/Order/1' }), 400, 'invalid_request');
  api.expectNoSecretsLogged();
  expect(api.logs.text).not.toContain(stack.token);
});

it('is in the API reference, with its answers', async () => {
  const document = (await stack.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, { post?: { responses: object } }> }>();
  const operation = must(document.paths['/v1/shops/{shop_id}/reconcile']?.post, 'the reconcile route in /docs');
  expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '409', '503']));
});
