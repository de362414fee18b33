import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_EXTENSIONS, type ObjectFolder, type ObjectInspection, type ObjectRef } from '../../src/storage/object-storage.js';
import { PROGRESS_INTERVAL_BYTES } from '../../src/storage/inspect/inspect-stream.js';
import { makeJpeg, makePng, makeWebp, sha256 } from '../support/fixtures.js';
import { localHarness, supabaseHarness, type HarnessFactory, type StorageHarness } from './harnesses.js';
import { expectStorageError, expected, rejection } from './storage-assertions.js';
import { Teardown } from '../support/teardown.js';

/** The behaviour every backend owes `ObjectStorage`, run against each. */
describe.each<{ backend: string; start: HarnessFactory }>([
  { backend: 'local', start: localHarness },
  { backend: 'supabase', start: supabaseHarness },
])('ObjectStorage contract: $backend', ({ start }) => {
  const PREVIEWS = 'previews';
  const PRINT = 'print-assets';
  let h: StorageHarness;

  const teardown = new Teardown();
  beforeAll(async () => {
    h = await start();
    teardown.defer(() => h.close());
    await h.storage.ensureBucket(PREVIEWS);
    await h.storage.ensureBucket(PRINT);
  });
  afterAll(() => teardown.run());

  /** A fresh place per test, so tests never see each other's objects. */
  const fresh = (bucket: string, name: string): ObjectRef => ({ bucket, path: `shop.myshopify.com/${randomUUID()}/${name}` });

  async function stored(name: string, bytes: Uint8Array, contentType?: string): Promise<ObjectRef> {
    const ref = fresh(PREVIEWS, name);
    await h.put(ref, bytes, contentType);
    return ref;
  }

  describe('ensureBucket', () => {
    it('is idempotent', async () => {
      await h.storage.ensureBucket(PREVIEWS);
      await h.storage.ensureBucket(PREVIEWS);
    });
  });

  describe('stat', () => {
    it('gives the size and the recorded content type', async () => {
      const png = makePng(3, 2);
      const ref = await stored('preview.png', png, 'image/png');
      expect(await h.storage.stat(ref)).toEqual({ size_bytes: png.length, content_type: 'image/png' });
    });

    it('reports a missing object as not_found, and a missing bucket as no_bucket (storage set up wrong)', async () => {
      await expectStorageError(h.storage.stat(fresh(PREVIEWS, 'missing.png')), 'not_found');
      await expectStorageError(h.storage.stat(fresh('no-such-bucket', 'missing.png')), 'no_bucket');
      await expectStorageError(h.storage.inspect(fresh('no-such-bucket', 'missing.png')), 'no_bucket');
    });
  });

  describe('inspect', () => {
    it.each([
      { name: 'a.png', bytes: makePng(640, 480), image: { content_type: 'image/png', width: 640, height: 480 } },
      {
        name: 'a.jpg',
        bytes: makeJpeg(1200, 800, { metadataBytes: 150_000 }),
        image: { content_type: 'image/jpeg', width: 1200, height: 800 },
      },
      { name: 'a.webp', bytes: makeWebp(300, 200), image: { content_type: 'image/webp', width: 300, height: 200 } },
    ])('hashes, measures and sniffs $name', async ({ name, bytes, image }) => {
      const ref = await stored(name, bytes);
      expect(await h.storage.inspect(ref)).toEqual({ size_bytes: bytes.length, sha256: sha256(bytes), image, truncated: false });
    });

    it('tells an image cut short', async () => {
      const png = makePng(40, 30);
      const ref = await stored('cut.png', png.subarray(0, png.length - 4));
      expect(await h.storage.inspect(ref)).toMatchObject({ image: { content_type: 'image/png', width: 40, height: 30 }, truncated: true });
    });

    it('finds no image in other bytes, whatever the name says', async () => {
      const bytes = Buffer.from('%PDF-1.7 not an image at all');
      const ref = await stored('lying.png', bytes, 'image/png');
      expect(await h.storage.inspect(ref)).toEqual({ size_bytes: bytes.length, sha256: sha256(bytes), image: null, truncated: false });
    });

    it('inspects an empty object', async () => {
      const ref = await stored('empty.png', new Uint8Array(0));
      expect(await h.storage.inspect(ref)).toEqual({ size_bytes: 0, sha256: sha256(new Uint8Array(0)), image: null, truncated: false });
    });

    it('reports progress every few MiB', async () => {
      const bytes = randomBytes(2 * PROGRESS_INTERVAL_BYTES + 1000);
      const ref = await stored('big.bin', bytes);
      const progress: number[] = [];
      await h.storage.inspect(ref, { onProgress: (bytesRead) => progress.push(bytesRead) });
      expect(progress).toHaveLength(2);
      expect(progress[0]).toBeGreaterThanOrEqual(PROGRESS_INTERVAL_BYTES);
      expect(progress[1]).toBeGreaterThanOrEqual(2 * PROGRESS_INTERVAL_BYTES);
    });

    it('rejects with the abort reason, not a StorageError', async () => {
      const ref = await stored('a.png', makePng(2, 2));
      const reason = new Error('activity cancelled');
      expect(await rejection(h.storage.inspect(ref, { signal: AbortSignal.abort(reason) }))).toBe(reason);
    });

    it('reports a missing object as not_found', async () => {
      await expectStorageError(h.storage.inspect(fresh(PREVIEWS, 'missing.png')), 'not_found');
    });
  });

  describe('copy', () => {
    it('copies the bytes and proves them', async () => {
      const png = makePng(40, 30);
      const from = await stored('preview.png', png, 'image/png');
      const to = fresh(PRINT, 'final.png');
      const copied = await h.storage.copy(from, to, expected(png));
      expect(copied).toEqual({
        size_bytes: png.length,
        sha256: sha256(png),
        image: { content_type: 'image/png', width: 40, height: 30 },
        truncated: false,
      });
      expect(await h.read(to)).toEqual(png);
      expect(await h.read(from)).toEqual(png);
    });

    it("records the sniffed type as the copy's content type, whatever type the preview was uploaded with", async () => {
      const png = makePng(6, 6);
      const from = await stored('preview.png', png, 'text/plain');
      const to = fresh(PRINT, 'final.png');
      await h.storage.copy(from, to, expected(png));
      expect(await h.storage.stat(to)).toEqual({ size_bytes: png.length, content_type: 'image/png' });
    });

    it('removes a copy whose bytes are not of the expected type and reports mismatch', async () => {
      const png = makePng(7, 7);
      const from = await stored('preview.jpg', png);
      const to = fresh(PRINT, 'final.jpg');
      await expectStorageError(h.storage.copy(from, to, { sha256: sha256(png), content_type: 'image/jpeg' }), 'mismatch');
      expect(await h.read(to)).toBeNull();
    });

    it('succeeds again when repeated, without changing the copy', async () => {
      const jpeg = makeJpeg(64, 64);
      const from = await stored('preview.jpg', jpeg);
      const to = fresh(PRINT, 'final.jpg');
      const first = await h.storage.copy(from, to, expected(jpeg, 'image/jpeg'));
      expect(await h.storage.copy(from, to, expected(jpeg, 'image/jpeg'))).toEqual(first);
      expect(await h.read(to)).toEqual(jpeg);
    });

    it('succeeds from an identical destination even when the source is gone', async () => {
      const png = makePng(5, 5);
      const from = await stored('preview.png', png);
      const to = fresh(PRINT, 'final.png');
      await h.storage.copy(from, to, expected(png));
      await h.storage.remove(from);
      expect((await h.storage.copy(from, to, expected(png))).sha256).toBe(sha256(png));
    });

    it('refuses to replace a different object with conflict', async () => {
      const png = makePng(10, 10);
      const other = makePng(11, 11);
      const from = await stored('preview.png', png);
      const to = fresh(PRINT, 'final.png');
      await h.put(to, other);
      await expectStorageError(h.storage.copy(from, to, expected(png)), 'conflict');
      expect(await h.read(to)).toEqual(other);
    });

    it('removes a copy that is not the expected bytes and reports mismatch', async () => {
      const png = makePng(10, 10);
      const from = await stored('preview.png', png);
      const to = fresh(PRINT, 'final.png');
      await expectStorageError(h.storage.copy(from, to, expected(makePng(9, 9))), 'mismatch');
      expect(await h.read(to)).toBeNull();
      await expectStorageError(h.storage.stat(to), 'not_found');
    });

    it('reports a missing source as not_found and a missing bucket as no_bucket, leaving nothing behind', async () => {
      const to = fresh(PRINT, 'final.png');
      await expectStorageError(h.storage.copy(fresh(PREVIEWS, 'missing.png'), to, expected(Buffer.from('x'))), 'not_found');
      expect(await h.read(to)).toBeNull();
      const from = await stored('preview.png', makePng(1, 1));
      await expectStorageError(h.storage.copy(from, fresh('no-such-bucket', 'final.png'), expected(makePng(1, 1))), 'no_bucket');
      await expectStorageError(h.storage.copy(fresh('no-such-bucket', 'preview.png'), to, expected(makePng(1, 1))), 'no_bucket');
      expect(await h.read(to)).toBeNull();
    });

    it('rejects a malformed expected sha256 before touching anything', async () => {
      const from = await stored('preview.png', makePng(1, 1));
      const to = fresh(PRINT, 'final.png');
      await expect(h.storage.copy(from, to, { sha256: 'ABC', content_type: 'image/png' })).rejects.toBeInstanceOf(RangeError);
      expect(await h.read(to)).toBeNull();
    });
  });

  describe('copyVerified', () => {
    const freshFolder = (): ObjectFolder => ({ bucket: PRINT, folder: `shop.myshopify.com/${randomUUID()}` });
    /** Places the bytes as printready does: named by their hash, typed as sniffed. */
    const byHash = (inspection: ObjectInspection) => {
      if (!inspection.image) throw new Error('not an image');
      const { content_type } = inspection.image;
      return { name: `${inspection.sha256}.${IMAGE_EXTENSIONS[content_type]}`, content_type, seen: inspection };
    };

    it('places the bytes where their inspection names them, with the sniffed type, and says what they are', async () => {
      const png = makePng(40, 30);
      const from = await stored('preview.png', png, 'text/plain');
      const into = freshFolder();
      const copied = await h.storage.copyVerified(from, into, byHash);
      const inspection = {
        size_bytes: png.length,
        sha256: sha256(png),
        image: { content_type: 'image/png', width: 40, height: 30 },
        truncated: false,
      };
      expect(copied.inspection).toEqual(inspection);
      expect(copied.placement.seen).toEqual(inspection);
      expect(copied.to).toEqual({ bucket: PRINT, path: `${into.folder}/${sha256(png)}.png` });
      expect(await h.read(copied.to)).toEqual(png);
      expect(await h.storage.stat(copied.to)).toEqual({ size_bytes: png.length, content_type: 'image/png' });
      expect(await h.list(into), 'no temporary left').toEqual([`${sha256(png)}.png`]);
    });

    it('publishes nothing when place refuses the bytes, and passes its error through', async () => {
      const from = await stored('preview.png', Buffer.from('not an image'));
      const into = freshFolder();
      await expect(h.storage.copyVerified(from, into, byHash)).rejects.toThrow('not an image');
      expect(await h.list(into)).toEqual([]);
    });

    it('succeeds again when repeated, and from an identical object already there', async () => {
      const jpeg = makeJpeg(64, 64);
      const from = await stored('preview.jpg', jpeg);
      const into = freshFolder();
      const first = await h.storage.copyVerified(from, into, byHash);
      expect(await h.storage.copyVerified(from, into, byHash)).toEqual(first);
      expect(await h.list(into)).toEqual([`${sha256(jpeg)}.jpg`]);
    });

    it('refuses to replace a different object with conflict', async () => {
      const png = makePng(10, 10);
      const other = makePng(11, 11);
      const from = await stored('preview.png', png);
      const into = freshFolder();
      const to = { bucket: PRINT, path: `${into.folder}/${sha256(png)}.png` };
      await h.put(to, other);
      await expectStorageError(h.storage.copyVerified(from, into, byHash), 'conflict');
      expect(await h.read(to)).toEqual(other);
      expect(await h.list(into)).toEqual([`${sha256(png)}.png`]);
    });

    it('reports a missing source as not_found and a missing bucket as no_bucket, leaving nothing behind', async () => {
      const into = freshFolder();
      await expectStorageError(h.storage.copyVerified(fresh(PREVIEWS, 'missing.png'), into, byHash), 'not_found');
      await expectStorageError(h.storage.copyVerified(fresh('no-such-bucket', 'preview.png'), into, byHash), 'no_bucket');
      expect(await h.list(into)).toEqual([]);
      const from = await stored('preview.png', makePng(1, 1));
      await expectStorageError(h.storage.copyVerified(from, { bucket: 'no-such-bucket', folder: 'x' }, byHash), 'no_bucket');
    });

    it('refuses a name below its folder', async () => {
      const from = await stored('preview.png', makePng(2, 2));
      const into = freshFolder();
      await expect(h.storage.copyVerified(from, into, () => ({ name: 'deeper/a.png', content_type: 'image/png' }))).rejects.toBeInstanceOf(
        RangeError,
      );
      expect(await h.list(into)).toEqual([]);
    });
  });

  describe('read', () => {
    const bytes = randomBytes(100);

    it('gives the whole object, with its size and content type', async () => {
      const ref = await stored('preview.png', bytes, 'image/png');
      const read = await h.storage.read(ref);
      expect({ ...read, body: await collect(read.body) }).toEqual({ size_bytes: 100, content_type: 'image/png', body: bytes });
    });

    it.each([
      { spec: { first: 10, last: 19 }, range: { start: 10, end: 19 } },
      { spec: { first: 90 }, range: { start: 90, end: 99 } },
      { spec: { first: 95, last: 500 }, range: { start: 95, end: 99 } },
      { spec: { suffix: 5 }, range: { start: 95, end: 99 } },
      { spec: { suffix: 500 }, range: { start: 0, end: 99 } },
    ])("gives the bytes of $spec, resolved against the object's size", async ({ spec, range }) => {
      const ref = await stored('preview.png', bytes, 'image/png');
      const read = await h.storage.read(ref, spec);
      expect(read).toMatchObject({ size_bytes: 100, range });
      expect(await collect(read.body)).toEqual(bytes.subarray(range.start, range.end + 1));
    });

    it('says a range that selects no byte selects none, with the size', async () => {
      const ref = await stored('preview.png', bytes, 'image/png');
      const read = await h.storage.read(ref, { first: 100 });
      expect(read).toMatchObject({ size_bytes: 100, range: null });
      expect(await collect(read.body)).toEqual(Buffer.alloc(0));
    });

    it('reports a missing object as not_found', async () => {
      await expectStorageError(h.storage.read(fresh(PREVIEWS, 'missing.png')), 'not_found');
      await expectStorageError(h.storage.read(fresh(PREVIEWS, 'missing.png'), { first: 0 }), 'not_found');
    });
  });

  describe('remove', () => {
    it('removes an object, and a missing one is success', async () => {
      const ref = await stored('a.png', makePng(1, 1));
      await h.storage.remove(ref);
      expect(await h.read(ref)).toBeNull();
      await h.storage.remove(ref);
      await h.storage.remove(fresh('no-such-bucket', 'a.png'));
    });
  });

  describe('denied', () => {
    it('classifies an unreadable bucket as denied', async (context) => {
      const bucket = `denied-${randomUUID().slice(0, 8)}`;
      await h.storage.ensureBucket(bucket);
      const ref = { bucket, path: 'a.png' };
      await h.put(ref, makePng(1, 1));
      if (!(await h.deny(bucket))) context.skip('file modes do not bind root');
      try {
        await expectStorageError(h.storage.inspect(ref), 'denied');
        await expectStorageError(h.storage.stat(ref), 'denied');
      } finally {
        await h.allow(bucket);
      }
    });
  });

  describe('signedUrl', () => {
    it('serves the object to a plain GET', async () => {
      const png = makePng(8, 8);
      const ref = await stored('preview.png', png, 'image/png');
      const signed = await h.storage.signedUrl(ref, { expiresInSeconds: 60, download: 'order 1001.png' });

      const response = await fetch(signed.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-disposition')).toContain('attachment');
      expect(Buffer.from(await response.arrayBuffer())).toEqual(png);
    });

    it('refuses the object once expires_at has passed', async () => {
      const ref = await stored('preview.png', makePng(1, 1));
      const signed = await h.storage.signedUrl(ref, { expiresInSeconds: 1 });
      // Expiry has one-second resolution and was fixed while signing, now over: within 2 s it has passed.
      await sleep(2100);
      const expired = await fetch(signed.url);
      expect(expired.ok).toBe(false);
      await expired.body?.cancel();
    });

    it('gives expires_at from the requested lifetime, to the second and never later', async () => {
      const ref = await stored('preview.png', makePng(1, 1));
      for (const expiresInSeconds of [1, 3600]) {
        const before = Date.now();
        const { expires_at } = await h.storage.signedUrl(ref, { expiresInSeconds });
        const after = Date.now();
        const expiresAt = Date.parse(expires_at);
        expect(expiresAt).toBeGreaterThan(before + expiresInSeconds * 1000 - 1000);
        expect(expiresAt).toBeLessThanOrEqual(after + expiresInSeconds * 1000);
      }
    });

    it('stops working when the path or the signature is altered', async () => {
      const ref = await stored('preview.png', makePng(1, 1));
      await h.put({ bucket: ref.bucket, path: ref.path.replace('preview', 'other') }, makePng(2, 2));
      const { url } = await h.storage.signedUrl(ref, { expiresInSeconds: 600 });
      expect((await fetch(url)).status).toBe(200);
      const altered = [url.replace('preview.png', 'other.png'), alterCredential(url)];
      for (const candidate of altered) {
        expect(candidate).not.toBe(url);
        const response = await fetch(candidate);
        expect(response.ok, candidate).toBe(false);
        await response.body?.cancel();
      }
    });

    it('signs only existing objects', async () => {
      await expectStorageError(h.storage.signedUrl(fresh(PREVIEWS, 'missing.png'), { expiresInSeconds: 60 }), 'not_found');
    });

    it('rejects options no backend can honour', async () => {
      const ref = await stored('preview.png', makePng(1, 1));
      await expect(h.storage.signedUrl(ref, { expiresInSeconds: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(h.storage.signedUrl(ref, { expiresInSeconds: 1.5 })).rejects.toBeInstanceOf(RangeError);
      await expect(h.storage.signedUrl(ref, { expiresInSeconds: 60, download: 'a"b.png' })).rejects.toBeInstanceOf(RangeError);
      for (const download of ['naïve.png', 'a+b.png', 'a%20b.png', 'front (1).png', '']) {
        await expect(h.storage.signedUrl(ref, { expiresInSeconds: 60, download })).rejects.toBeInstanceOf(RangeError);
      }
    });
  });

  describe('keys that try to leave their bucket', () => {
    const attempts: ObjectRef[] = [
      { bucket: PREVIEWS, path: '../sentinel.txt' },
      { bucket: PREVIEWS, path: '../../sentinel.txt' },
      { bucket: PREVIEWS, path: 'a/../../sentinel.txt' },
      { bucket: PREVIEWS, path: '/etc/passwd' },
      { bucket: PREVIEWS, path: '%2e%2e/sentinel.txt' },
      { bucket: PREVIEWS, path: '..%2fsentinel.txt' },
      { bucket: PREVIEWS, path: 'a.png\0.txt' },
      { bucket: PREVIEWS, path: '..\\sentinel.txt' },
      { bucket: PREVIEWS, path: './sentinel.txt' },
      { bucket: PREVIEWS, path: 'a//b.png' },
      { bucket: PREVIEWS, path: 'a/' },
      { bucket: PREVIEWS, path: '' },
      { bucket: PREVIEWS, path: 'a.png?x=1' },
      { bucket: PREVIEWS, path: `${'a/'.repeat(512)}b` },
      { bucket: '..', path: 'sentinel.txt' },
      { bucket: '.', path: 'sentinel.txt' },
      { bucket: 'previews/..', path: 'sentinel.txt' },
      { bucket: 'Previews', path: 'a.png' },
      { bucket: '', path: 'sentinel.txt' },
    ];

    it.each(attempts)('refuses $bucket / $path as not_found without touching anything', async (bad) => {
      const good = await stored('good.png', makePng(1, 1));
      const goodCopy = expected(makePng(1, 1));
      const before = await h.fingerprint();
      await expectStorageError(h.storage.stat(bad), 'not_found');
      await expectStorageError(h.storage.inspect(bad), 'not_found');
      await expectStorageError(h.storage.copy(bad, fresh(PRINT, 'x.png'), goodCopy), 'not_found');
      await expectStorageError(h.storage.copy(good, bad, goodCopy), 'not_found');
      await expectStorageError(h.storage.remove(bad), 'not_found');
      await expectStorageError(h.storage.signedUrl(bad, { expiresInSeconds: 60 }), 'not_found');
      expect(await h.fingerprint()).toBe(before);
    });

    it.each(['..', '.', 'a/b', '', 'Previews', 'a'.repeat(64)])('refuses to create bucket %j', async (bucket) => {
      const before = await h.fingerprint();
      await expectStorageError(h.storage.ensureBucket(bucket), 'not_found');
      expect(await h.fingerprint()).toBe(before);
    });
  });
});

/** Flips a character in the middle of the URL's token or signature, where every bit counts. */
function alterCredential(url: string): string {
  const parsed = new URL(url);
  const name = parsed.searchParams.has('token') ? 'token' : 'signature';
  const value = parsed.searchParams.get(name) ?? '';
  const middle = Math.floor(value.length / 2);
  parsed.searchParams.set(name, `${value.slice(0, middle)}${value[middle] === 'A' ? 'B' : 'A'}${value.slice(middle + 1)}`);
  return parsed.toString();
}

const collect = async (body: Buffer | Readable): Promise<Buffer> => (Buffer.isBuffer(body) ? body : buffer(body));
