import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { classifyFsError } from '../../../src/storage/local/fs-errors.js';
import { PROGRESS_INTERVAL_BYTES } from '../../../src/storage/inspect/inspect-stream.js';
import { LocalPaths } from '../../../src/storage/local/local-paths.js';
import { LocalStorage } from '../../../src/storage/local/local-storage.js';
import { makePng, sha256 } from '../../support/fixtures.js';
import { expectStorageError, expected } from '../storage-assertions.js';

describe('LocalStorage on disk', () => {
  let base: string;
  let root: string;
  let outside: string;
  let storage: LocalStorage;
  const png = makePng(4, 4);

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'printready-local-'));
    root = join(base, 'storage');
    outside = join(base, 'outside');
    await mkdir(join(root, 'previews'), { recursive: true });
    await mkdir(join(root, 'print-assets'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret.png'), png);
    storage = new LocalStorage({ root, publicBaseUrl: 'http://localhost:3000', signingSecret: 'secret' });
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it('keeps object <bucket>/<path> in the file <root>/<bucket>/<path>, creating folders', async () => {
    await writeFile(join(root, 'previews', 'a.png'), png);
    await storage.copy({ bucket: 'previews', path: 'a.png' }, { bucket: 'print-assets', path: 'shop/1001/a.png' }, expected(png));
    expect(await readFile(join(root, 'print-assets', 'shop', '1001', 'a.png'))).toEqual(png);
  });

  it('refuses to copy to a name whose extension is not the expected type, the only type it records', async () => {
    await writeFile(join(root, 'previews', 'a.png'), png);
    const copy = storage.copy({ bucket: 'previews', path: 'a.png' }, { bucket: 'print-assets', path: 'a.jpg' }, expected(png));
    await expect(copy).rejects.toBeInstanceOf(RangeError);
    expect(await readdir(join(root, 'print-assets'))).toEqual([]);
  });

  it('answers transient when another copy published the same object and has not yet removed its temporary', async () => {
    await writeFile(join(root, 'previews', 'a.png'), png);
    const to = { bucket: 'print-assets', path: 'a.png' };
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the original, called with its `this` under the spy
    const prepared = LocalPaths.prototype.preparedLocation;
    // The other copy publishes between this one's look at the destination and its own link.
    const other = vi.spyOn(LocalPaths.prototype, 'preparedLocation').mockImplementation(async function (this: LocalPaths, ref) {
      const location = await prepared.call(this, ref);
      await writeFile(join(location.dir, '.partial-a.png.other'), png);
      await link(join(location.dir, '.partial-a.png.other'), join(location.dir, location.name));
      return location;
    });
    try {
      await expectStorageError(storage.copy({ bucket: 'previews', path: 'a.png' }, to, expected(png)), 'transient');
    } finally {
      other.mockRestore();
    }
    expect((await storage.copy({ bucket: 'previews', path: 'a.png' }, to, expected(png))).sha256).toBe(sha256(png));
    expect(await readdir(join(root, 'print-assets'))).toEqual(['a.png']);
  });

  it('records content types from the file extension only', async () => {
    for (const name of ['a.png', 'b.JPG', 'c.jpeg', 'd.webp', 'e.bin', 'f']) await writeFile(join(root, 'previews', name), png);
    const types = await Promise.all(
      ['a.png', 'b.JPG', 'c.jpeg', 'd.webp', 'e.bin', 'f'].map(
        async (path) => (await storage.stat({ bucket: 'previews', path })).content_type,
      ),
    );
    expect(types).toEqual(['image/png', 'image/jpeg', 'image/jpeg', 'image/webp', null, null]);
  });

  it('treats a folder as no object', async () => {
    await mkdir(join(root, 'previews', 'folder.png'));
    const ref = { bucket: 'previews', path: 'folder.png' };
    await expectStorageError(storage.stat(ref), 'not_found');
    await expectStorageError(storage.inspect(ref), 'not_found');
    await storage.remove(ref);
    expect((await stat(join(root, 'previews', 'folder.png'))).isDirectory()).toBe(true);
  });

  it('treats a path through a file as no object', async () => {
    await writeFile(join(root, 'previews', 'a.png'), png);
    await expectStorageError(storage.stat({ bucket: 'previews', path: 'a.png/b.png' }), 'not_found');
  });

  it('leaves no temporary file behind, whether the copy succeeds or not', async () => {
    await writeFile(join(root, 'previews', 'a.png'), png);
    const from = { bucket: 'previews', path: 'a.png' };
    await storage.copy(from, { bucket: 'print-assets', path: 'ok/a.png' }, expected(png));
    await expectStorageError(storage.copy(from, { bucket: 'print-assets', path: 'bad/a.png' }, expected(Buffer.from('x'))), 'mismatch');
    expect((await readdir(join(root, 'print-assets'), { recursive: true })).sort()).toEqual(['bad', 'ok', 'ok/a.png']);
  });

  it.each([
    ['a different object: conflict, and it stays', Buffer.from('someone else'), 'conflict'],
    ['the same bytes: success', undefined, 'success'],
  ])('judges a destination that appears during the copy by its bytes: %s', async (_case, appearing, outcome) => {
    // Large enough to report progress, which is when the other writer strikes.
    const bytes = Buffer.concat([png, Buffer.alloc(PROGRESS_INTERVAL_BYTES)]);
    await writeFile(join(root, 'previews', 'a.png'), bytes);
    const target = join(root, 'print-assets', 'a.png');
    let struck = false;
    const copy = storage.copy({ bucket: 'previews', path: 'a.png' }, { bucket: 'print-assets', path: 'a.png' }, expected(bytes), {
      onProgress: () => {
        if (!struck) writeFileSync(target, appearing ?? bytes);
        struck = true;
      },
    });
    if (outcome === 'conflict') await expectStorageError(copy, 'conflict');
    else expect((await copy).sha256).toBe(sha256(bytes));
    expect(sha256(await readFile(target))).toBe(sha256(appearing ?? bytes));
    expect(await readdir(join(root, 'print-assets'))).toEqual(['a.png']);
  });

  it('creates buckets as folders', async () => {
    await storage.ensureBucket('new-bucket');
    expect((await stat(join(root, 'new-bucket'))).isDirectory()).toBe(true);
  });

  /** One chunk and over: read at once, or streamed. */
  const served = [
    { size: 'small', bytes: () => png, read: 'bytes' },
    { size: 'large', bytes: () => randomBytes(1024 * 1024 + 1), read: 'a stream' },
  ];
  const bytesOf = (body: Buffer | Readable) => (Buffer.isBuffer(body) ? body : buffer(body));

  it.each(served)('opens a $size object for the files route, as $read', async ({ bytes, read }) => {
    const content = bytes();
    await writeFile(join(root, 'previews', 'a.png'), content);
    const object = await storage.read({ bucket: 'previews', path: 'a.png' });
    expect(object.size_bytes).toBe(content.length);
    expect(object.content_type).toBe('image/png');
    expect(Buffer.isBuffer(object.body) ? 'bytes' : 'a stream').toBe(read);
    expect(await bytesOf(object.body)).toEqual(content);
  });

  it('streams only the size it found when the file was opened, even if the file grows', async () => {
    const content = randomBytes(1024 * 1024 + 1);
    await writeFile(join(root, 'previews', 'a.png'), content);
    const object = await storage.read({ bucket: 'previews', path: 'a.png' });
    await writeFile(join(root, 'previews', 'a.png'), Buffer.concat([content, content]));
    expect(object.size_bytes).toBe(content.length);
    expect(await bytesOf(object.body)).toEqual(content);
  });

  it('serves an empty file as no bytes', async () => {
    await writeFile(join(root, 'previews', 'empty.png'), '');
    const object = await storage.read({ bucket: 'previews', path: 'empty.png' });
    expect(object.size_bytes).toBe(0);
    expect((await bytesOf(object.body)).length).toBe(0);
  });

  it('finds a bucket created after a first lookup missed it', async () => {
    const ref = { bucket: 'later', path: 'a.png' };
    await expectStorageError(storage.stat(ref), 'no_bucket');
    await storage.ensureBucket('later');
    await writeFile(join(root, 'later', 'a.png'), png);
    expect((await storage.stat(ref)).size_bytes).toBe(png.length);
  });

  describe('symlinks', () => {
    it('follows a link that stays inside the bucket', async () => {
      await mkdir(join(root, 'previews', 'real'));
      await writeFile(join(root, 'previews', 'real', 'a.png'), png);
      await symlink(join(root, 'previews', 'real'), join(root, 'previews', 'alias'));
      expect((await storage.inspect({ bucket: 'previews', path: 'alias/a.png' })).sha256).toBe(sha256(png));
    });

    it('accepts a bucket folder that is itself a link', async () => {
      await symlink(outside, join(root, 'linked'));
      expect((await storage.stat({ bucket: 'linked', path: 'secret.png' })).size_bytes).toBe(png.length);
    });

    it.each([
      ['a folder link out of the bucket', 'escape', () => outside, 'escape/secret.png'],
      ['a file link out of the bucket', 'secret.png', () => join(outside, 'secret.png'), 'secret.png'],
      ['a link into another bucket', 'other', () => join(root, 'print-assets'), 'other/x.png'],
    ])('refuses %s as denied, touching nothing outside', async (_case, linkName, target, path) => {
      await writeFile(join(root, 'print-assets', 'x.png'), png);
      await symlink(target(), join(root, 'previews', linkName));
      const ref = { bucket: 'previews', path };
      await expectStorageError(storage.stat(ref), 'denied');
      await expectStorageError(storage.inspect(ref), 'denied');
      await expectStorageError(storage.signedUrl(ref, { expiresInSeconds: 60 }), 'denied');
      await writeFile(join(root, 'previews', 'source.png'), png);
      await expectStorageError(storage.copy(ref, { bucket: 'previews', path: 'copy.png' }, expected(png)), 'denied');
      await expectStorageError(storage.copy({ bucket: 'previews', path: 'source.png' }, ref, expected(png)), 'denied');
      expect(await readdir(outside)).toEqual(['secret.png']);
      expect(await readFile(join(outside, 'secret.png'))).toEqual(png);
      expect(await readdir(join(root, 'print-assets'))).toEqual(['x.png']);
    });

    it('never creates folders through a link out of the bucket', async () => {
      await writeFile(join(root, 'previews', 'source.png'), png);
      await symlink(outside, join(root, 'previews', 'escape'));
      const to = { bucket: 'previews', path: 'escape/new/deeper/copy.png' };
      await expectStorageError(storage.copy({ bucket: 'previews', path: 'source.png' }, to, expected(png)), 'denied');
      expect(await readdir(outside)).toEqual(['secret.png']);
    });

    it('refuses a hard-linked preview as denied: it cannot be proven to belong to its bucket', async () => {
      await link(join(outside, 'secret.png'), join(root, 'previews', 'hard.png'));
      const ref = { bucket: 'previews', path: 'hard.png' };
      await expectStorageError(storage.stat(ref), 'denied');
      await expectStorageError(storage.inspect(ref), 'denied');
      await expectStorageError(storage.copy(ref, { bucket: 'print-assets', path: 'copy.png' }, expected(png)), 'denied');
      expect(await readdir(join(root, 'print-assets'))).toEqual([]);
    });

    it('refuses a file whose folder is swapped for a link out of the bucket between the check and the open', async () => {
      await mkdir(join(root, 'previews', 'shop'));
      await writeFile(join(root, 'previews', 'shop', 'secret.png'), makePng(2, 2));
      // eslint-disable-next-line @typescript-eslint/unbound-method -- the original, called with its `this` under the spy
      const checked = LocalPaths.prototype.existingFile;
      const swap = vi.spyOn(LocalPaths.prototype, 'existingFile').mockImplementation(async function (this: LocalPaths, ref) {
        const file = await checked.call(this, ref);
        await rename(join(root, 'previews', 'shop'), join(base, 'moved'));
        await symlink(outside, join(root, 'previews', 'shop'));
        return file;
      });
      try {
        await expectStorageError(storage.inspect({ bucket: 'previews', path: 'shop/secret.png' }), 'denied');
      } finally {
        swap.mockRestore();
      }
    });

    it('removes a link itself, never what it points to', async () => {
      await symlink(join(outside, 'secret.png'), join(root, 'previews', 'link.png'));
      await storage.remove({ bucket: 'previews', path: 'link.png' });
      expect(await readdir(join(root, 'previews'))).toEqual([]);
      expect(await readFile(join(outside, 'secret.png'))).toEqual(png);
    });

    it('refuses to remove through a folder link out of the bucket', async () => {
      await symlink(outside, join(root, 'previews', 'escape'));
      await expectStorageError(storage.remove({ bucket: 'previews', path: 'escape/secret.png' }), 'denied');
      expect(await readFile(join(outside, 'secret.png'))).toEqual(png);
    });
  });
});

describe('classifyFsError', () => {
  const fsError = (code: string): Error => Object.assign(new Error(`${code}: at /srv/secret/path`), { code });

  it.each([
    ['ENOENT', 'not_found'],
    ['ENOTDIR', 'not_found'],
    ['EISDIR', 'not_found'],
    ['ENAMETOOLONG', 'not_found'],
    ['EACCES', 'denied'],
    ['EPERM', 'denied'],
    ['ELOOP', 'denied'],
    ['ENOSPC', 'transient'],
    ['EMFILE', 'transient'],
    ['EIO', 'transient'],
    ['constructor', 'transient'],
  ])('%s is %s', (code, kind) => {
    const error = classifyFsError(fsError(code), 'previews/a.png');
    expect(error.kind).toBe(kind);
    expect(error.message).toContain('previews/a.png');
    // Messages reach API responses: no host paths in them.
    expect(error.message).not.toContain('/srv/secret');
  });

  it('classifies anything without a code as transient', () => {
    expect(classifyFsError(new Error('weird'), 'x').kind).toBe('transient');
    expect(classifyFsError('not even an error', 'x').kind).toBe('transient');
  });
});

describe('LocalStorage construction', () => {
  it('needs a signing secret', () => {
    expect(() => new LocalStorage({ root: tmpdir(), publicBaseUrl: 'http://x', signingSecret: '' })).toThrow(/signing secret/);
  });

  it('signs URLs that are unique per object and lifetime', async () => {
    const root = await mkdtemp(join(tmpdir(), 'printready-local-'));
    try {
      const storage = new LocalStorage({ root, publicBaseUrl: 'https://printready.example.com/', signingSecret: randomUUID() });
      await mkdir(join(root, 'print-assets'));
      await writeFile(join(root, 'print-assets', 'a.png'), makePng(1, 1));
      const { url } = await storage.signedUrl({ bucket: 'print-assets', path: 'a.png' }, { expiresInSeconds: 86_400 });
      expect(url).toMatch(/^https:\/\/printready\.example\.com\/files\/print-assets\/a\.png\?expires=\d+&signature=[\w-]{43}$/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
