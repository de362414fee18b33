import { StorageApiError, StorageUnknownError } from '@supabase/storage-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/storage/storage-error.js';
import { classifySupabaseError } from '../../../src/storage/supabase/supabase-errors.js';
import { SupabaseStorage } from '../../../src/storage/supabase/supabase-storage.js';
import { makePng, sha256 } from '../../support/fixtures.js';
import { SupabaseStorageStandIn, type StandInRequest } from '../../support/supabase-storage-stand-in.js';
import { expectStorageError, expected, rejection } from '../storage-assertions.js';
import { Teardown } from '../../support/teardown.js';

describe('classifySupabaseError', () => {
  it.each([
    [
      'a logical 404 in an HTTP 400 (NoSuchKey; NoSuchBucket before storage-js 2.112)',
      new StorageApiError('Object not found', 400, '404'),
      'not_found',
    ],
    ['a logical 403 (AccessDenied, RLS)', new StorageApiError('new row violates row-level security policy', 400, '403'), 'denied'],
    ['a 401 from the gateway (bad apikey)', new StorageApiError('Invalid API key', 401, '401'), 'denied'],
    ['a logical 409 (Duplicate)', new StorageApiError('The resource already exists', 400, '409'), 'conflict'],
    ['an HTTP 500', new StorageApiError('Internal Server Error', 500, '500'), 'transient'],
    ['a 503 from the gateway', new StorageApiError('Service Unavailable', 503, '503'), 'transient'],
    ['a logical 544 (DatabaseTimeout)', new StorageApiError('The connection to the database timed out', 544, '544'), 'transient'],
    ['a 429', new StorageApiError('Too many connections', 429, '429'), 'transient'],
    ['a body with only a code', new StorageApiError('Object not found', 400, 'NoSuchKey'), 'not_found'],
    ['another refusal (InvalidRequest)', new StorageApiError('body/expiresIn must be >= 1', 400, '400'), 'denied'],
    ['a failed fetch', new StorageUnknownError('fetch failed', new TypeError('fetch failed')), 'transient'],
    ['a body cut short', new TypeError('terminated'), 'transient'],
  ] as const)('%s is %s', (_case, error, kind) => {
    const classified = classifySupabaseError(error, 'previews/a.png');
    expect(classified.kind).toBe(kind);
    expect(classified.cause).toBe(error);
    expect(classified.message).toContain('previews/a.png');
  });

  it('decides by status, never by message text', () => {
    expect(classifySupabaseError(new StorageApiError('Object not found', 400, '409'), 'x').kind).toBe('conflict');
    expect(classifySupabaseError(new StorageApiError('Duplicate', 400, '404'), 'x').kind).toBe('not_found');
  });

  it('prefers the code that storage-js 2.112+ exposes: NoSuchBucket is storage set up wrong', () => {
    const error = Object.assign(new StorageApiError('Bucket not found', 400, '404'), { code: 'NoSuchBucket' });
    expect(classifySupabaseError(error, 'x').kind).toBe('no_bucket');
  });

  it('keeps a StorageError as it is', () => {
    const error = new StorageError('mismatch', 'already classified');
    expect(classifySupabaseError(error, 'x')).toBe(error);
  });
});

describe('SupabaseStorage against the stand-in', () => {
  let standIn: SupabaseStorageStandIn;
  let storage: SupabaseStorage;
  const ref = { bucket: 'previews', path: 'shop.myshopify.com/job-1/preview.png' };
  const png = makePng(12, 7);
  const isDownload = ({ method, path }: StandInRequest): boolean =>
    method === 'GET' && path.startsWith('/object/') && !path.startsWith('/object/info/');

  const teardown = new Teardown();
  beforeAll(async () => {
    standIn = await SupabaseStorageStandIn.start();
    teardown.defer(() => standIn.close());
    storage = new SupabaseStorage({ url: standIn.url, serviceKey: standIn.serviceKey });
    await storage.ensureBucket('previews');
    await storage.ensureBucket('print-assets');
    await standIn.putObject(ref, png, 'image/png');
  });
  afterAll(() => teardown.run());
  afterEach(() => standIn.allow('previews'));

  /** What the stand-in answers on the wire, to prove it speaks as Storage does. */
  async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${standIn.url}/storage/v1${path}`, {
      ...init,
      headers: {
        apikey: standIn.serviceKey,
        Authorization: `Bearer ${standIn.serviceKey}`,
        ...Object.fromEntries(new Headers(init.headers)),
      },
    });
    return { status: response.status, body: await response.json() };
  }

  describe('wire format', () => {
    it('answers a missing object with HTTP 400 and a logical 404', async () => {
      expect(await raw('/object/info/previews/missing.png')).toEqual({
        status: 400,
        body: { statusCode: '404', code: 'NoSuchKey', error: 'not_found', message: 'Object not found' },
      });
    });

    it('answers a bad bearer token with AccessDenied and a bad apikey with the gateway 401', async () => {
      expect(await raw('/object/info/previews/a.png', { headers: { Authorization: 'Bearer nope' } })).toMatchObject({
        status: 400,
        body: { statusCode: '403', code: 'AccessDenied', error: 'Unauthorized' },
      });
      expect(await raw('/object/info/previews/a.png', { headers: { apikey: 'nope' } })).toEqual({
        status: 401,
        body: { message: 'Invalid API key', hint: expect.any(String) as unknown },
      });
    });

    it('creates buckets private', async () => {
      expect(await raw('/bucket/previews')).toMatchObject({ status: 200, body: { id: 'previews', public: false } });
    });
  });

  describe('error classification end to end', () => {
    it('a missing object is not_found; a missing bucket (a key that cannot see it looks the same) is no_bucket', async () => {
      await expectStorageError(storage.stat({ bucket: 'previews', path: 'missing.png' }), 'not_found');
      await expectStorageError(storage.inspect({ bucket: 'previews', path: 'missing.png' }), 'not_found');
      await expectStorageError(storage.stat({ bucket: 'nowhere', path: 'a.png' }), 'no_bucket');
      await expectStorageError(storage.inspect({ bucket: 'nowhere', path: 'a.png' }), 'no_bucket');
    });

    it('believes a not-found only once its bucket is known to be there: a failed check is transient', async () => {
      const isBucketCheck = (request: StandInRequest) => request.method === 'GET' && request.path === '/bucket/previews';
      standIn.failNext(1, { status: 503, match: isBucketCheck });
      await expectStorageError(storage.stat({ bucket: 'previews', path: 'missing.png' }), 'transient');
      await expectStorageError(storage.stat({ bucket: 'previews', path: 'missing.png' }), 'not_found');
    });

    it('an access denial (403) is denied', async () => {
      standIn.deny('previews');
      await expectStorageError(storage.stat(ref), 'denied');
      await expectStorageError(storage.inspect(ref), 'denied');
      await expectStorageError(storage.copy(ref, { bucket: 'print-assets', path: 'x.png' }, expected(png)), 'denied');
    });

    it('a wrong service key is denied', async () => {
      const stranger = new SupabaseStorage({ url: standIn.url, serviceKey: 'not-the-key' });
      await expectStorageError(stranger.stat(ref), 'denied');
    });

    it.each([
      { status: 503, body: undefined },
      { status: 500, body: undefined },
      { status: 502, body: '<html><body>Bad Gateway</body></html>' },
      { status: 429, body: { statusCode: '429', code: 'SlowDown', error: 'too_many_connections', message: 'Too many' } },
    ])('an HTTP $status is transient', async ({ status, body }) => {
      standIn.failNext(1, { status, body });
      await expectStorageError(storage.stat(ref), 'transient');
      standIn.failNext(1, { status, body, match: isDownload });
      await expectStorageError(storage.inspect(ref), 'transient');
      expect(await storage.stat(ref)).toEqual({ size_bytes: png.length, content_type: 'image/png' });
    });

    it('a reset connection is transient', async () => {
      standIn.resetNext(1);
      await expectStorageError(storage.stat(ref), 'transient');
      standIn.resetNext(1, { match: isDownload });
      await expectStorageError(storage.inspect(ref), 'transient');
    });

    it('a download cut off mid-body is transient', async () => {
      standIn.resetNext(1, { afterBytes: 20, match: isDownload });
      await expectStorageError(storage.inspect(ref), 'transient');
      expect((await storage.inspect(ref)).sha256).toBe(sha256(png));
    });

    it('an abort while waiting rejects with the abort reason', async () => {
      standIn.delayNext(1, 5_000, { match: isDownload });
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      setTimeout(() => controller.abort(reason), 50);
      expect(await rejection(storage.inspect(ref, { signal: controller.signal }))).toBe(reason);
    });
  });

  describe('copy', () => {
    it('copies on the server, then proves the copy by streaming it back', async () => {
      const to = { bucket: 'print-assets', path: 'shop.myshopify.com/1001/final.png' };
      const first = standIn.requests.length;
      const copied = await storage.copy(ref, to, expected(png));
      expect(copied.sha256).toBe(sha256(png));
      expect(standIn.requests.slice(first).map(({ method, path }) => `${method} ${path}`)).toEqual([
        'POST /object/copy',
        `GET /object/print-assets/${to.path}`,
      ]);
    });

    it('removes a copy whose read-back is not the expected bytes', async () => {
      const to = { bucket: 'print-assets', path: 'shop.myshopify.com/1002/final.png' };
      await expectStorageError(storage.copy(ref, to, expected(makePng(1, 1))), 'mismatch');
      expect(await standIn.readObject(to)).toBeNull();
    });

    it('a transient failure of the read-back leaves a copy that the retry accepts', async () => {
      const to = { bucket: 'print-assets', path: 'shop.myshopify.com/1003/final.png' };
      standIn.failNext(1, { status: 503, match: isDownload });
      await expectStorageError(storage.copy(ref, to, expected(png)), 'transient');
      expect((await storage.copy(ref, to, expected(png))).sha256).toBe(sha256(png));
    });
  });

  describe('signed URLs', () => {
    it('are refused once expired, as InvalidJWT in an HTTP 400', async () => {
      const { url } = await storage.signedUrl(ref, { expiresInSeconds: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const response = await fetch(url);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        statusCode: '400',
        code: 'InvalidJWT',
        error: 'InvalidJWT',
        message: '"exp" claim timestamp check failed',
      });
    });

    it('are refused for another path, as InvalidSignature', async () => {
      await standIn.putObject({ bucket: 'previews', path: 'other.png' }, png);
      const { url } = await storage.signedUrl(ref, { expiresInSeconds: 60 });
      const response = await fetch(url.replace(ref.path, 'other.png'));
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ statusCode: '400', code: 'InvalidSignature' });
    });

    it('carry a download name as an attachment', async () => {
      const { url } = await storage.signedUrl(ref, { expiresInSeconds: 60, download: 'order 1001_front-v2.png' });
      const response = await fetch(url);
      expect(response.headers.get('content-disposition')).toBe(
        "attachment; filename=order%201001_front-v2.png; filename*=UTF-8''order%201001_front-v2.png",
      );
      expect(Buffer.from(await response.arrayBuffer())).toEqual(png);
    });
  });
});
