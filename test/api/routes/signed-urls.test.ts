import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { persistFinalAsset } from '../../../src/db/repositories/final-assets.js';
import { registerOrderLines, setLineWorking } from '../../../src/db/repositories/order-lines.js';
import { recoveryGuidance } from '../../../src/domain/reasons.js';
import { signLocalUrl } from '../../../src/storage/local/local-signature.js';
import { must } from '../../support/must.js';
import { bearer, expectError, linePath, PUBLIC_BASE, useApiApp } from '../../support/api-app.js';
import { makePng } from '../../support/fixtures.js';

/** The signed-URL answer, as far as these tests read it. */
interface SignedUrl {
  url: string;
  expires_at: string;
}

const api = useApiApp();
const { creds, config, newLine, persistedLine, failedLine } = api;
let app: FastifyInstance;
let database: typeof api.database;
let storageRoot: string;
beforeAll(() => {
  ({ app, database, storageRoot } = api);
});

describe('POST …/final-asset/signed-url and GET /files', () => {
  const sign = (line: { shop_id: string; order_line_id: string }, payload?: unknown, token = creds.merchantToken) =>
    app.inject({
      method: 'POST',
      url: linePath(line, '/final-asset/signed-url'),
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const get = (url: string, target = app, method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}) =>
    target.inject({ method, url: url.replace(PUBLIC_BASE, ''), headers });

  it('signs the persisted asset and serves its exact bytes until it expires', async () => {
    const { line, bytes, digest } = await persistedLine(makePng(40, 30));
    const response = await sign(line);
    expect(response.statusCode, response.body).toBe(200);
    const signed = response.json<SignedUrl>();
    expect(signed).toMatchObject({ sha256: digest, size_bytes: bytes.length, content_type: 'image/png' });
    expect(signed.url.startsWith(`${PUBLIC_BASE}/files/${config.PRINT_BUCKET}/`)).toBe(true);
    const expiresIn = (Date.parse(signed.expires_at) - Date.now()) / 1000;
    expect(expiresIn).toBeGreaterThan(config.SIGNED_URL_TTL_SECONDS - 5);
    expect(expiresIn).toBeLessThanOrEqual(config.SIGNED_URL_TTL_SECONDS);

    api.clock = Date.now();
    const file = await get(signed.url);
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(bytes)).toBe(true);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.headers['content-length']).toBe(String(bytes.length));
    expect(file.headers.etag).toBe(`"${digest}"`);
    expect(file.headers['content-disposition']).toBeUndefined();

    const head = await get(signed.url, app, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect(head.rawPayload.length).toBe(0);
    expect((await get(signed.url, app, 'GET', { 'if-none-match': `"${digest}"` })).statusCode).toBe(304);

    // Expired: the same URL a second after expires_at.
    api.clock = Date.parse(signed.expires_at) + 1_000;
    expectError(await get(signed.url), 410, 'url_expired');
    api.clock = Date.now();
  });

  it('streams an asset larger than one read with its exact bytes and length', async () => {
    const { line, bytes } = await persistedLine(Buffer.concat([makePng(32, 16), randomBytes(1536 * 1024)]));
    const file = await get((await sign(line)).json<SignedUrl>().url);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-length']).toBe(String(bytes.length));
    expect(file.rawPayload.equals(bytes)).toBe(true);
  });

  it('serves a single range of the asset, so a supplier can resume a download', async () => {
    const { line, bytes, digest } = await persistedLine(Buffer.concat([makePng(32, 16), randomBytes(1536 * 1024)]));
    const { url } = (await sign(line)).json<SignedUrl>();
    const size = bytes.length;
    const part = async (range: string, headers: Record<string, string> = {}) => get(url, app, 'GET', { range, ...headers });

    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      ['bytes=-10', size - 10, size - 1],
      [`bytes=1000-${size + 1000}`, 1000, size - 1],
    ] as const) {
      const response = await part(range);
      expect(response.statusCode, range).toBe(206);
      expect(response.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers['content-length']).toBe(String(end - start + 1));
      expect(response.headers.etag).toBe(`"${digest}"`);
      expect(response.rawPayload.equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
    // Resumed with the ETag it started with: the rest; the object is not that one: all of it.
    expect((await part('bytes=100-', { 'if-range': `"${digest}"` })).statusCode).toBe(206);
    const changed = await part('bytes=100-', { 'if-range': `"${'0'.repeat(64)}"` });
    expect(changed.statusCode).toBe(200);
    expect(changed.rawPayload.equals(bytes)).toBe(true);
    expect((await part('bytes=100-', { 'if-range': 'Wed, 21 Oct 2015 07:28:00 GMT' })).statusCode).toBe(200);
    // Several ranges or a malformed one: the whole object, as a server may answer.
    for (const range of ['bytes=0-1,5-6', 'bytes=9-3', 'lines=1-2']) {
      const whole = await part(range);
      expect(whole.statusCode, range).toBe(200);
      expect(whole.headers['content-length']).toBe(String(size));
    }
    const beyond = expectError(await part(`bytes=${size}-`), 416, 'range_not_satisfiable');
    expect(beyond.details).toEqual({ size_bytes: size });
    expect((await part(`bytes=${size}-`)).headers['content-range']).toBe(`bytes */${size}`);
    expect((await part('bytes=-0')).statusCode).toBe(416);

    const head = await get(url, app, 'HEAD', { range: 'bytes=0-9' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.headers['content-length']).toBe(String(size));
  });

  it('names the download <order_line_id>.png and honours expires_in', async () => {
    const { line } = await persistedLine();
    const response = await sign(line, { expires_in: 60, download: true }, creds.operatorToken);
    expect(response.statusCode).toBe(200);
    const { url, expires_at } = response.json<SignedUrl>();
    expect(new URL(url).searchParams.get('download')).toBe(`${line.order_line_id}.png`);
    expect(Date.parse(expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
    const file = await get(url);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-disposition']).toBe(`attachment; filename="${line.order_line_id}.png"`);
  });

  it('refuses any altered URL with 403 invalid_signature, odd paths included, never a 500', async () => {
    const { line } = await persistedLine();
    const { url } = (await sign(line, { download: true })).json<SignedUrl>();
    const parsed = new URL(url);
    const variants: string[] = [];
    const tweak = (change: (u: URL) => void) => {
      const copy = new URL(url);
      change(copy);
      variants.push(`${copy.pathname}${copy.search}`);
    };
    tweak((u) => u.searchParams.set('expires', String(Number(parsed.searchParams.get('expires')) + 3600)));
    tweak((u) => u.searchParams.set('expires', String(Number(parsed.searchParams.get('expires')) - 3600)));
    tweak((u) => u.searchParams.set('download', 'other.png'));
    tweak((u) => u.searchParams.delete('download'));
    tweak((u) => u.searchParams.delete('signature'));
    tweak((u) => u.searchParams.set('signature', `${must(parsed.searchParams.get('signature'), 'a signature').slice(0, -2)}AA`));
    tweak((u) => (u.pathname = u.pathname.replace(config.PRINT_BUCKET, config.PREVIEW_BUCKET)));
    tweak((u) => (u.pathname = u.pathname.replace('.png', '.jpg')));
    tweak((u) => u.searchParams.append('cache', 'bust'));
    tweak((u) => u.searchParams.append('signature', must(parsed.searchParams.get('signature'), 'a signature')));
    for (const variant of variants) expectError(await get(variant), 403, 'invalid_signature');

    const query = parsed.search;
    for (const odd of [
      `/files/${config.PRINT_BUCKET}/../../../etc/passwd`,
      `/files/${config.PRINT_BUCKET}/%2e%2e/%2e%2e/etc/passwd`,
      `/files/${config.PRINT_BUCKET}/a%00b.png`,
      `/files/${config.PRINT_BUCKET}/..%5c..%5cetc%5cpasswd`,
      `/files/${config.PRINT_BUCKET}//etc/passwd`,
      `/files/..%2f..%2fetc/passwd`,
      '/files/',
      '/files/%zz',
    ]) {
      const response = await app.inject({ url: `${odd}${query}` });
      expect(response.statusCode, `${odd}: ${response.body}`).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, odd).toBeLessThan(500);
      expect(response.json<{ error: { code: string } }>().error.code).toMatch(/^(invalid_signature|not_found|invalid_request)$/);
    }
  });

  it('answers 404 for a validly signed object that does not exist', async () => {
    const url = signLocalUrl(
      PUBLIC_BASE,
      { ref: { bucket: config.PRINT_BUCKET, path: 'nope/missing.png' }, expires: Math.floor(Date.now() / 1000) + 60 },
      creds.signingSecret,
    );
    expectError(await get(url), 404, 'not_found');
    const escape = signLocalUrl(
      PUBLIC_BASE,
      { ref: { bucket: config.PRINT_BUCKET, path: 'a/..b.png' }, expires: Math.floor(Date.now() / 1000) + 60 },
      creds.signingSecret,
    );
    expectError(await get(escape), 404, 'not_found');
  });

  it('answers 409 asset_missing when the recorded asset has gone from its bucket: an operator must restore it', async () => {
    const { line, assetPath } = await persistedLine();
    await rm(path.join(storageRoot, config.PRINT_BUCKET, assetPath));
    expectError(await sign(line), 409, 'asset_missing');
  });

  it('answers 503 storage_unavailable when the print bucket has gone: storage set up wrong, not a lost asset', async () => {
    const line = newLine();
    await registerOrderLines(database.db, [line]);
    await persistFinalAsset(database.db, line, {
      bucket: 'gone-print-bucket',
      path: `${line.shop_id}/${line.order_line_id}/${'0'.repeat(64)}.png`,
      sha256: '0'.repeat(64),
      size_bytes: 1,
      content_type: 'image/png',
      width: 1,
      height: 1,
      source_bucket: config.PREVIEW_BUCKET,
      source_path: `${line.shop_id}/x.png`,
      job_id: 'job-1',
    });
    expectError(await sign(line), 503, 'storage_unavailable');
  });

  it('answers 409 asset_not_ready, 409 fulfillment_failed with guidance, 404 and 400', async () => {
    const processing = newLine();
    await registerOrderLines(database.db, [processing]);
    expect(expectError(await sign(processing), 409, 'asset_not_ready').details).toEqual({ status: 'processing' });
    await setLineWorking(database.db, processing, 'waiting_for_preview');
    expectError(await sign(processing), 409, 'asset_not_ready');

    const failed = await failedLine();
    const failure = expectError(await sign(failed), 409, 'fulfillment_failed');
    expect(failure.details).toEqual({
      reason_code: 'preview_not_found',
      reason_message: `no preview job for ${failed.personalization_id}`,
      recovery_guidance: recoveryGuidance('preview_not_found'),
    });

    const { line } = await persistedLine();
    expectError(await sign(line, undefined, creds.otherMerchantToken), 404, 'not_found');
    expectError(await sign(newLine()), 404, 'not_found');
    expectError(await sign(line, { expires_in: 59 }), 400, 'invalid_request');
    expectError(await sign(line, { expires_in: 604_801 }), 400, 'invalid_request');
    expectError(await sign(line, { expires_in: 'soon' }), 400, 'invalid_request');
    expectError(await sign(line, { download: true, extra: 1 }), 400, 'invalid_request');
    // No body, and an empty JSON body, both mean the defaults.
    expect((await sign(line)).statusCode).toBe(200);
    const empty = await app.inject({
      method: 'POST',
      url: linePath(line, '/final-asset/signed-url'),
      headers: { ...bearer(creds.merchantToken), 'content-type': 'application/json' },
      payload: '',
    });
    expect(empty.statusCode, empty.body).toBe(200);
  });
});

describe('logs of signing and serving', () => {
  it('never carry a token, secret or signature', () => {
    api.expectNoSecretsLogged();
  });
});
