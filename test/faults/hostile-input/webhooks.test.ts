import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../../src/intake/shopify.js';
import { bigId, hmac } from '../../support/fixtures.js';
import { useHostileApp } from '../../support/hostile-app.js';

/** Hostile input on POST /webhooks/shopify (see `useHostileApp`): 2xx or a 4xx envelope, never a 5xx. */
const hostile = useHostileApp();
const { creds, shop, expectSafe, headerText, hostileBody, webhookHeaders, withoutUndefined } = hostile;

/** An orders/create delivery of `body`, signed with the shop's secret. */
const postSigned = (body: string | Buffer) =>
  hostile.app.inject({
    method: 'POST',
    url: '/webhooks/shopify',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': shop,
      'x-shopify-hmac-sha256': hmac(body, creds.webhookSecret),
    },
    payload: body,
  });

describe('hostile input: POST /webhooks/shopify', () => {
  it('never starts a workflow without a valid HMAC, and answers 4xx', async () => {
    const before = hostile.starts;
    const wrongHmac = (body: string | Buffer) =>
      fc.oneof(
        fc.constant(undefined),
        fc.constant(''),
        headerText,
        fc.constant(hmac(body, 'whsec_not_the_secret')),
        fc.constant(hmac(`${body.toString()} `, creds.webhookSecret)),
        fc.constant<string[]>([hmac(body, creds.webhookSecret), hmac(body, creds.webhookSecret)]),
        fc.constant(hmac(body, creds.webhookSecret).toLowerCase() + '='),
        fc.constant(Buffer.from(hmac(body, creds.webhookSecret), 'base64').toString('hex')),
      );
    await fc.assert(
      fc.asyncProperty(
        hostileBody.chain((body) => fc.tuple(fc.constant(body), webhookHeaders(wrongHmac(body)))),
        async ([body, headers]) => {
          const response = await hostile.app.inject({
            method: 'POST',
            url: '/webhooks/shopify',
            headers: withoutUndefined(headers),
            payload: body,
          });
          expectSafe(response);
          expect([401, 413, 415], `${response.statusCode} ${response.body}`).toContain(response.statusCode);
        },
      ),
      { numRuns: 300 },
    );
    expect(hostile.starts - before).toBe(0);
  });

  it('answers a signed but hostile delivery with 200 or 4xx, starting only valid lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileBody.chain((body) => fc.tuple(fc.constant(body), webhookHeaders(fc.constant(hmac(body, creds.webhookSecret))))),
        async ([body, headers]) => {
          const before = hostile.starts;
          const response = await hostile.app.inject({
            method: 'POST',
            url: '/webhooks/shopify',
            headers: withoutUndefined(headers),
            payload: body,
          });
          expectSafe(response, (status) => status === 200);
          if (response.statusCode === 200) {
            const answer = JSON.parse(response.body) as { accepted: { order_line_id: string; workflow_id: string; status: string }[] };
            // Started only what was accepted, for the shop that signed, with the contract's ids.
            expect(hostile.starts - before).toBe(answer.accepted.length);
            for (const line of answer.accepted) {
              expect(line.order_line_id).toMatch(/^[1-9][0-9]{0,19}$/);
              expect(line.workflow_id).toBe(`${shop}:${line.order_line_id}:fulfillment`);
            }
          } else {
            expect(hostile.starts - before).toBe(0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses an oversized signed delivery with 413 before anything else', async () => {
    const big = Buffer.alloc(WEBHOOK_BODY_LIMIT + 1, 0x20);
    const webhook = await postSigned(big);
    expectSafe(webhook);
    expect(webhook.statusCode).toBe(413);
  });

  it('takes a signed order with more personalized lines than one SQL statement can hold', async () => {
    // Shopify's body limit leaves room for tens of thousands of line items. Starts are stubbed
    // here: the point is the intake's own handling, not 12,000 workflows on the shared server.
    const lines = Array.from({ length: 12_000 }, () => ({
      order_line_id: bigId(),
      personalization_id: `p${randomBytes(3).toString('hex')}`,
    }));
    const items = lines.map(
      (line) => `{"id":${line.order_line_id},"properties":[{"name":"_personalization_id","value":"${line.personalization_id}"}]}`,
    );
    const body = `{"id":${bigId()},"line_items":[${items.join(',')}]}`;
    expect(body.length).toBeLessThan(WEBHOOK_BODY_LIMIT);
    const start = hostile.client.workflow.start.bind(hostile.client.workflow);
    hostile.client.workflow.start = (() => Promise.resolve(undefined)) as unknown as typeof hostile.client.workflow.start;
    try {
      const response = await postSigned(body);
      expectSafe(response, (status) => status === 200);
      expect(response.statusCode).toBe(200);
      expect((JSON.parse(response.body) as { accepted: unknown[] }).accepted).toHaveLength(lines.length);
    } finally {
      hostile.client.workflow.start = start;
    }
    const registered = await hostile.database.db
      .selectFrom('order_lines')
      .select('order_line_id')
      .where(
        'order_line_id',
        'in',
        lines.slice(0, 100).map((line) => line.order_line_id),
      )
      .execute();
    expect(registered).toHaveLength(100);
  });
});
