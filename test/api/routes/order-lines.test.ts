import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { fulfillmentWorkflowId } from '../../../src/domain/ids.js';
import { bearer, expectError, linePath, useApiApp } from '../../support/api-app.js';

const api = useApiApp();
const { creds, config, newLine, persistedLine } = api;
let app: FastifyInstance;
beforeAll(() => {
  ({ app } = api);
});

describe('GET /v1/shops/:shop_id/order-lines/:order_line_id', () => {
  it('returns the status view; 404 for unknown, malformed and other shops’ lines', async () => {
    const { line, digest } = await persistedLine();
    const response = await app.inject({ url: linePath(line), headers: bearer(creds.merchantToken) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      shop_id: line.shop_id,
      order_id: line.order_id,
      order_line_id: line.order_line_id,
      workflow_id: fulfillmentWorkflowId(line),
      status: 'persisted',
      reason_code: null,
      final_asset: { bucket: config.PRINT_BUCKET, sha256: digest, content_type: 'image/png', width: 32, height: 16 },
    });
    expect((await app.inject({ url: linePath(line), headers: bearer(creds.operatorToken) })).statusCode).toBe(200);

    expectError(await app.inject({ url: linePath(line), headers: bearer(creds.otherMerchantToken) }), 404, 'not_found');
    expectError(await app.inject({ url: linePath(newLine()), headers: bearer(creds.merchantToken) }), 404, 'not_found');
    expectError(
      await app.inject({ url: linePath({ ...line, order_line_id: 'abc' }), headers: bearer(creds.operatorToken) }),
      404,
      'not_found',
    );
    expectError(
      await app.inject({ url: linePath({ ...line, shop_id: 'evil.com' }), headers: bearer(creds.operatorToken) }),
      404,
      'not_found',
    );
  });
});
