import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { getOrderLineView, registerOrderLines, setLineWorking } from '../../../src/db/repositories/order-lines.js';
import { fulfillmentWorkflowId } from '../../../src/domain/ids.js';
import { bearer, expectError, useApiApp, type WebhookAnswer } from '../../support/api-app.js';
import { bigId, orderPayload, personalized } from '../../support/fixtures.js';

const api = useApiApp();
const { creds, config, webhook, newLine, signalNames } = api;
let app: FastifyInstance;
let deadApp: FastifyInstance;
let database: typeof api.database;
beforeAll(() => {
  ({ app, deadApp, database } = api);
});

describe('POST /v1/previews', () => {
  const post = (payload: unknown, token = creds.merchantToken) =>
    app.inject({ method: 'POST', url: '/v1/previews', headers: bearer(token), payload: payload as object });
  /** Posts a body as sent, with the Content-Type given (none when undefined). */
  const postRaw = (payload: string, contentType: string | undefined) =>
    app.inject({
      method: 'POST',
      url: '/v1/previews',
      headers: { ...bearer(creds.merchantToken), ...(contentType && { 'content-type': contentType }) },
      payload,
    });
  /** Starts a line whose personalization waits on a preview job; answers its workflow id. */
  const startPersonalizedLine = async (line: ReturnType<typeof newLine>) => {
    const hook = await webhook(
      app,
      orderPayload(line.order_id, [{ id: line.order_line_id, properties: personalized(line.personalization_id) }]),
    );
    expect(hook.json<WebhookAnswer>().accepted[0]?.status).toBe('started');
    return fulfillmentWorkflowId(line);
  };

  it('records a job: 201 created, 200 unchanged, 201 updated, 409 on contradiction', async () => {
    const job = { shop_id: creds.shop, personalization_id: `pers-${bigId()}`, job_id: 'job-1', status: 'rendering' };
    const created = await post(job);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ ...job, bucket: config.PREVIEW_BUCKET, path: null, outcome: 'created' });
    const unchanged = await post(job);
    expect(unchanged.statusCode).toBe(200);
    expect(unchanged.json<{ outcome: string }>().outcome).toBe('unchanged');
    const ready = { ...job, status: 'ready', path: `${creds.shop}/p.png`, content_type: 'image/png' };
    const updated = await post(ready, creds.operatorToken);
    expect(updated.statusCode).toBe(201);
    expect(updated.json()).toMatchObject({ status: 'ready', bucket: config.PREVIEW_BUCKET, path: ready.path, outcome: 'updated' });
    expect((await post(ready)).statusCode).toBe(200);

    const otherPath = expectError(await post({ ...ready, path: `${creds.shop}/other.png` }), 409, 'preview_conflict');
    expect(otherPath.details).toMatchObject({ job_id: 'job-1', status: 'ready' });
    expectError(await post({ ...job, job_id: 'job-2' }), 409, 'preview_conflict');
    // Fields left out keep what is recorded; only another type contradicts it.
    const { content_type: _omitted, ...untyped } = ready;
    expect((await post(untyped)).statusCode).toBe(200);
    expectError(await post({ ...ready, content_type: 'image/webp' }), 409, 'preview_conflict');
  });

  it('keeps a job’s bucket from its first hand-off, and takes a type declared late', async () => {
    // Only an operator may name another bucket than PREVIEW_BUCKET.
    const job = {
      shop_id: creds.shop,
      personalization_id: `pers-${bigId()}`,
      job_id: 'job-b',
      status: 'rendering',
      bucket: 'generator-out',
    };
    expect((await post(job, creds.operatorToken)).json()).toMatchObject({ bucket: 'generator-out', path: null });
    const { bucket: _bucket, ...ready } = { ...job, status: 'ready', path: `${creds.shop}/b.png` };
    const readied = await post(ready, creds.operatorToken);
    expect(readied.statusCode).toBe(201);
    expect(readied.json()).toMatchObject({ status: 'ready', bucket: 'generator-out', content_type: null });
    const typed = await post({ ...ready, content_type: 'image/png' }, creds.operatorToken);
    expect(typed.statusCode).toBe(201);
    expect(typed.json()).toMatchObject({ bucket: 'generator-out', content_type: 'image/png', outcome: 'updated' });
  });

  it('keeps a job’s path and type through a post that leaves them out, and starts afresh when a failed job renders again', async () => {
    const job = {
      shop_id: creds.shop,
      personalization_id: `pers-${bigId()}`,
      job_id: 'job-r',
      status: 'rendering',
      path: `${creds.shop}/r.png`,
      content_type: 'image/png',
    };
    expect((await post(job)).statusCode).toBe(201);
    const { path: _path, content_type: _type, ...bare } = job;
    expect((await post(bare)).json()).toMatchObject({ outcome: 'unchanged', path: job.path, content_type: 'image/png' });
    // Null, as the route itself answers a field it does not know, is absent too.
    expect((await post({ ...bare, bucket: null, path: null, content_type: null })).json()).toMatchObject({
      outcome: 'unchanged',
      path: job.path,
    });
    expect((await post({ ...bare, status: 'failed' })).json()).toMatchObject({
      status: 'failed',
      path: job.path,
      content_type: 'image/png',
    });
    const again = await post(bare);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ status: 'rendering', bucket: config.PREVIEW_BUCKET, path: null, content_type: null });
  });

  it('reads the body as JSON whatever Content-Type it comes with, or none', async () => {
    for (const contentType of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', undefined]) {
      const job = { shop_id: creds.shop, personalization_id: `p-${bigId()}`, job_id: 'j', status: 'rendering' };
      const response = await postRaw(JSON.stringify(job), contentType);
      expect(response.statusCode, `${contentType}: ${response.body}`).toBe(201);
    }
    expectError(await postRaw('shop_id=x', 'application/x-www-form-urlencoded'), 400, 'invalid_request');
  });

  it('lets a merchant name only PREVIEW_BUCKET, and only objects under its shop_id/ in the job as it will be stored', async () => {
    const job = {
      shop_id: creds.shop,
      personalization_id: `pers-${bigId()}`,
      job_id: 'job-m',
      status: 'ready',
      path: `${creds.shop}/m.png`,
    };
    expectError(await post({ ...job, bucket: 'generator-out' }), 403, 'forbidden');
    expectError(await post({ ...job, bucket: config.PRINT_BUCKET }), 403, 'forbidden');
    expect((await post({ ...job, bucket: config.PREVIEW_BUCKET })).statusCode).toBe(201);

    // An operator recorded a job in another bucket, or under another shop's folder: a
    // merchant's later post that leaves bucket or path out would inherit them, and is refused.
    const elsewhere = {
      shop_id: creds.shop,
      personalization_id: `pers-${bigId()}`,
      job_id: 'job-o',
      status: 'rendering',
      bucket: 'generator-out',
    };
    expect((await post(elsewhere, creds.operatorToken)).statusCode).toBe(201);
    const { bucket: _bucket, ...unbucketed } = elsewhere;
    expectError(await post({ ...unbucketed, status: 'ready', path: `${creds.shop}/o.png` }), 403, 'forbidden');
    const shared = {
      shop_id: creds.shop,
      personalization_id: `pers-${bigId()}`,
      job_id: 'job-s',
      status: 'rendering',
      path: `${creds.otherShop}/s.png`,
    };
    expect((await post(shared, creds.operatorToken)).statusCode).toBe(201);
    const { path: _path, ...pathless } = shared;
    expectError(await post({ ...pathless, status: 'failed' }), 403, 'forbidden');
    // Nothing was changed by the refused posts; the operator still may.
    expect((await post({ ...shared, status: 'ready' }, creds.operatorToken)).json()).toMatchObject({
      status: 'ready',
      path: shared.path,
      outcome: 'updated',
    });
  });

  it('answers 400 for an invalid job or malformed JSON, and 403 for another shop', async () => {
    const invalid = expectError(
      await post({ shop_id: creds.shop, personalization_id: 'p', job_id: 'j', status: 'ready' }),
      400,
      'invalid_request',
    );
    expect(JSON.stringify(invalid.details)).toContain('path');
    expectError(
      await post({ shop_id: creds.shop, personalization_id: 'p', job_id: 'j', status: 'ready', path: '../../etc/passwd' }),
      400,
      'invalid_request',
    );
    expectError(await postRaw('{"shop_id":', 'application/json'), 400, 'invalid_request');
    expectError(await postRaw('x'.repeat(70_000), 'application/json'), 413, 'payload_too_large');
    expectError(
      await post({ shop_id: creds.shop, personalization_id: 'p', job_id: 'j', status: 'rendering' }, creds.otherMerchantToken),
      403,
      'forbidden',
    );
  });

  it('signals preview_ready to every line waiting for the job once it is ready', async () => {
    const line = newLine();
    const workflowId = await startPersonalizedLine(line);
    await setLineWorking(database.db, line, 'waiting_for_preview');

    const job = { shop_id: creds.shop, personalization_id: line.personalization_id, job_id: 'job-w', status: 'rendering' };
    expect((await post(job)).statusCode).toBe(201);
    expect(await signalNames(workflowId)).toEqual([]);
    expect((await post({ ...job, status: 'ready', path: `${creds.shop}/w.png` })).statusCode).toBe(201);
    expect(await signalNames(workflowId)).toEqual(['preview_ready']);
  });

  it('also wakes a line still working, which may have read the job as rendering and not yet recorded that it waits', async () => {
    const line = newLine();
    const workflowId = await startPersonalizedLine(line);
    expect(await getOrderLineView(database.db, line)).toMatchObject({ status: 'processing' });
    const job = {
      shop_id: creds.shop,
      personalization_id: line.personalization_id,
      job_id: 'job-p',
      status: 'ready',
      path: `${creds.shop}/p.png`,
    };
    expect((await post(job)).statusCode).toBe(201);
    expect(await signalNames(workflowId)).toEqual(['preview_ready']);
  });

  it('still records the job when Temporal is down (the waiting line polls)', async () => {
    const line = newLine();
    await registerOrderLines(database.db, [line]);
    await setLineWorking(database.db, line, 'waiting_for_preview');
    const response = await deadApp.inject({
      method: 'POST',
      url: '/v1/previews',
      headers: bearer(creds.operatorToken),
      payload: { shop_id: creds.shop, personalization_id: line.personalization_id, job_id: 'j', status: 'ready', path: 'a/b.png' },
    });
    expect(response.statusCode).toBe(201);
  });
});
