import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordLineFailure } from '../../../src/db/repositories/failures.js';
import { fulfillmentWorkflowId } from '../../../src/domain/ids.js';
import { bearer, expectError, linePath, useApiApp } from '../../support/api-app.js';
import { orderPayload, personalized } from '../../support/fixtures.js';

const api = useApiApp();
const { creds, webhook, newLine, workflowExists, signalNames, persistedLine, failedLine } = api;
let app: FastifyInstance;
let deadApp: FastifyInstance;
let client: Client;
let database: typeof api.database;
beforeAll(() => {
  ({ app, deadApp, client, database } = api);
});

describe('POST …/retry', () => {
  const retry = (line: { shop_id: string; order_line_id: string }, target = app, token = creds.merchantToken) =>
    target.inject({ method: 'POST', url: linePath(line, '/retry'), headers: bearer(token) });

  it('starts a new run when the failed line has no workflow any more', async () => {
    const line = await failedLine();
    const workflowId = fulfillmentWorkflowId(line);
    expect(await workflowExists(workflowId)).toBe(false);
    const response = await retry(line);
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toEqual({ workflow_id: workflowId, status: 'retry_requested' });
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
  });

  it('signals retry to a running workflow', async () => {
    const line = newLine();
    await webhook(app, orderPayload(line.order_id, [{ id: line.order_line_id, properties: personalized(line.personalization_id) }]));
    await recordLineFailure(database.db, line, {
      failure_key: 'k1',
      attempt: 1,
      reason_code: 'asset_missing',
      message: 'gone',
      details: {},
    });
    const response = await retry(line, app, creds.operatorToken);
    expect(response.statusCode, response.body).toBe(202);
    expect(await signalNames(fulfillmentWorkflowId(line))).toEqual(['retry']);
  });

  it('answers 409 not_failed, 404 for unknown and other shops, 503 when Temporal is down', async () => {
    const { line } = await persistedLine();
    expect(expectError(await retry(line), 409, 'not_failed').details).toEqual({ status: 'persisted' });
    const failed = await failedLine();
    expectError(await retry(failed, app, creds.otherMerchantToken), 404, 'not_found');
    expectError(await retry(newLine()), 404, 'not_found');
    expectError(await retry(failed, deadApp), 503, 'temporal_unavailable');
  });
});
