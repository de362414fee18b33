/**
 * Over 200 lines for a reason: one class holds the whole filesystem backend so that every read
 * passes the same containment checks in `#open`; paths, signatures and fs errors live beside it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { errorCode } from '../../lib/error-code.js';
import { resolveByteRange, type ByteRange, type ByteRangeSpec } from '../byte-range.js';
import { acceptExisting, checkCopied, checkCopyArguments, inspectIfPresent, placedRef } from '../copy-checks.js';
import { copyOnThread } from './copy-threads.js';
import { classifyFsError } from './fs-errors.js';
import { inspectStream } from '../inspect/inspect-stream.js';
import { LocalPaths, syncDirectory } from './local-paths.js';
import { signLocalUrl } from './local-signature.js';
import { checkBucketName, checkObjectRef, describeRef } from '../object-key.js';
import type {
  ExpectedObject,
  ObjectFolder,
  ObjectInspection,
  ObjectRead,
  ObjectRef,
  ObjectStat,
  ObjectStorage,
  Placement,
  PlaceCopy,
  SignedUrl,
  SignedUrlOptions,
  StreamOptions,
  VerifiedCopy,
} from '../object-storage.js';
import { checkSignedUrlOptions } from '../signed-url-options.js';
import { isAbsent, StorageError } from '../storage-error.js';

export interface LocalStorageOptions {
  /** `$DATA_DIR/storage`: object `<bucket>/<path>` is the file `<root>/<bucket>/<path>`. */
  root: string;
  /** Where the files route is reachable from outside, e.g. `https://printready.example.com`. */
  publicBaseUrl: string;
  /** Key of the HMAC that signs URLs; the files route verifies with the same one. */
  signingSecret: string;
}

/** The only types the local backend records: the file name's, for the images it serves. */
const CONTENT_TYPES = new Map([
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.jpeg', 'image/jpeg'],
  ['.webp', 'image/webp'],
]);

/**
 * Chunk size of every file read (serving, verifying, copying). Every chunk costs a read on the
 * thread pool, a write and the streams' bookkeeping: a 1 MiB asset served in 256 KiB chunks
 * cost the API 0.8 ms more CPU (and the client 0.7 ms more) than in one 1 MiB chunk (`npm run
 * bench`, signed URLs); Node's default is 64 KiB. A stream holds at most about two chunks, so
 * 100 concurrent downloads hold ~200 MiB.
 */
const CHUNK_BYTES = 1024 * 1024;

/** Paths per page of a listing. */
const LIST_PAGE = 1000;

/** Never follow a link in the last component of a path that was resolved and checked. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- Windows has no O_NOFOLLOW, whatever the types say
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

/**
 * Object storage on the local filesystem, for development and single-host installs: a
 * generator can drop previews straight into `<root>/<bucket>/`. Signed URLs point at the files
 * route, which checks them with `verifyLocalUrl` and serves the bytes through `read`.
 */
export class LocalStorage implements ObjectStorage {
  readonly kind = 'local';
  readonly #paths: LocalPaths;
  readonly #publicBaseUrl: string;
  readonly #signingSecret: string;

  constructor({ root, publicBaseUrl, signingSecret }: LocalStorageOptions) {
    if (!signingSecret) throw new Error('LocalStorage needs a signing secret for its URLs');
    this.#paths = new LocalPaths(root);
    this.#publicBaseUrl = publicBaseUrl;
    this.#signingSecret = signingSecret;
  }

  async stat(ref: ObjectRef): Promise<ObjectStat> {
    checkObjectRef(ref);
    return guard(ref, undefined, async () => {
      const { stats } = await this.#paths.existingFile(ref);
      checkReadable(ref, stats);
      return { size_bytes: stats.size, content_type: contentTypeOf(ref) };
    });
  }

  async inspect(ref: ObjectRef, options: StreamOptions = {}): Promise<ObjectInspection> {
    checkObjectRef(ref);
    return guard(ref, options.signal, async () => {
      const file = await this.#open(ref);
      try {
        return await inspectStream(readBytes(file, false), options);
      } finally {
        await file.handle.close();
      }
    });
  }

  /**
   * Opens an object for the files route, with the same containment checks as every read: the
   * whole of it, or the bytes `rangeSpec` selects of the size fstat gives once it is open.
   */
  async read(ref: ObjectRef, rangeSpec?: ByteRangeSpec): Promise<ObjectRead> {
    checkObjectRef(ref);
    return guard(ref, undefined, async () => {
      const file = await this.#open(ref);
      const { size } = file.stats;
      const content_type = contentTypeOf(ref);
      if (rangeSpec) {
        // A download being resumed: rare, so always a stream.
        const range = resolveByteRange(rangeSpec, size) ?? null;
        if (!range) await file.handle.close();
        return { size_bytes: size, content_type, range, body: range ? readBytes(file, true, range) : Buffer.alloc(0) };
      }
      // Bounded by fstat's size, so a file that grows meanwhile still matches the Content-Length sent.
      if (size > CHUNK_BYTES) return { size_bytes: size, content_type, body: readBytes(file, true) };
      try {
        const body = await readWhole(file);
        return { size_bytes: body.length, content_type, body };
      } finally {
        await file.handle.close();
      }
    });
  }

  /**
   * Streams the source into a temporary file next to the destination while hashing it,
   * fsyncs it, and publishes it with link(2), which unlike rename(2) never replaces an object
   * that appeared meanwhile. The destination bucket must exist; folders inside it are created.
   */
  async copy(from: ObjectRef, to: ObjectRef, expected: ExpectedObject, options: StreamOptions = {}): Promise<ObjectInspection> {
    checkCopyArguments(from, to, expected);
    checkNamedForType(to, expected.content_type);
    // Before anything reads the destination: an attempt that died between publishing its object
    // and removing its temporary left both, and the object has one name again only without it.
    await guard(to, options.signal, async () => {
      const { dir, name } = await this.#paths.existingLocation(to);
      await removeAbandonedPartials(dir, partialPrefix(name));
    }).catch((error: unknown) => {
      if (!isAbsent(error)) throw error;
    });
    const existing = await inspectIfPresent(this, to, options);
    if (existing) {
      const accepted = acceptExisting(existing, expected, to);
      await guard(to, options.signal, () => this.#paths.syncExistingPath(to));
      return accepted;
    }
    const { dir, name } = await guard(to, options.signal, () => this.#paths.preparedLocation(to));
    const { inspection } = await this.#stageAndPublish(from, { dir, prefix: partialPrefix(name) }, options, (copied) => {
      checkCopied(copied, expected, to);
      return { to, name, placement: undefined };
    });
    return inspection;
  }

  /**
   * `copy` in one read of the source: its temporary is named after the source (the name is not
   * known yet), and the abandoned temporaries of earlier attempts at the same copy are removed
   * before anything is written, so a destination published by a killed attempt has one name again.
   */
  async copyVerified<P extends Placement>(
    from: ObjectRef,
    into: ObjectFolder,
    place: PlaceCopy<P>,
    options: StreamOptions = {},
  ): Promise<VerifiedCopy<P>> {
    checkObjectRef(from);
    const staging = stagingRef(from, into);
    const { dir, name: prefix } = await guard(staging, options.signal, async () => {
      const location = await this.#paths.preparedLocation(staging);
      await removeAbandonedPartials(location.dir, location.name);
      return location;
    });
    return this.#stageAndPublish(from, { dir, prefix }, options, (inspection) => {
      const placement = place(inspection);
      const to = placedRef(into, placement.name);
      checkNamedForType(to, placement.content_type);
      return { to, name: placement.name, placement };
    });
  }

  /**
   * Streams `from` into a new temporary in `dir` while inspecting it, fsyncs it, lets `place`
   * judge and name it, and publishes it there with link(2). `place` runs outside the fs error
   * classification, so what it throws reaches the caller as it was thrown.
   */
  async #stageAndPublish<P>(
    from: ObjectRef,
    { dir, prefix }: { dir: string; prefix: string },
    options: StreamOptions,
    place: (inspection: ObjectInspection) => { to: ObjectRef; name: string; placement: P },
  ): Promise<{ to: ObjectRef; inspection: ObjectInspection; placement: P }> {
    const { signal } = options;
    const source = await guard(from, signal, () => this.#open(from));
    const temp = join(dir, `${prefix}${randomUUID()}`);
    try {
      const inspection = await guard(from, signal, async () => {
        try {
          return await writeNewFile(temp, source, options);
        } finally {
          await source.handle.close();
        }
      });
      const { to, name, placement } = place(inspection);
      await guard(to, signal, async () => {
        await link(temp, join(dir, name)).catch(async (error: unknown) => {
          if (errorCode(error) !== 'EEXIST') throw error;
          // Another writer got there first: its object decides, as if it had been there before.
          // Until that writer removes its temporary the object has two names: try again then.
          const theirs = await this.inspect(to, options).catch((inspectError: unknown) => {
            if (!(inspectError instanceof StorageError && inspectError.kind === 'denied')) throw inspectError;
            throw new StorageError('transient', `${describeRef(to)} is being published by another copy`, { cause: inspectError });
          });
          acceptExisting(theirs, inspection, to);
        });
        // The caller records the copy next: the file must outlive a crash of the machine.
        await syncDirectory(dir);
      });
      return { to, inspection, placement };
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async remove(ref: ObjectRef): Promise<void> {
    checkObjectRef(ref);
    await guard(ref, undefined, async () => {
      const { dir, name } = await this.#paths.existingLocation(ref);
      const file = join(dir, name);
      // unlink removes a link itself, never its target; a folder is not an object.
      if ((await lstat(file)).isDirectory()) return;
      await unlink(file);
    }).catch((error: unknown) => {
      if (!isAbsent(error)) throw error;
    });
  }

  /**
   * Walks the folder's files once, then answers them in pages: removing a page's objects does
   * not disturb the walk. A missing folder has no objects. Each path is checked again (and
   * contained) by whoever acts on it, e.g. `remove`.
   */
  async *list(folder: ObjectFolder): AsyncIterable<string[]> {
    checkObjectRef({ bucket: folder.bucket, path: folder.folder });
    const dir = join(this.#paths.bucketDir(folder.bucket), folder.folder);
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
      throw classifyFsError(error, `${folder.bucket}/${folder.folder}`);
    });
    const paths = entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(this.#paths.bucketDir(folder.bucket), join(entry.parentPath, entry.name)).split(sep).join('/'));
    for (let start = 0; start < paths.length; start += LIST_PAGE) yield paths.slice(start, start + LIST_PAGE);
  }

  async removeMany(bucket: string, paths: readonly string[]): Promise<number> {
    let removed = 0;
    for (const path of paths) {
      const there = await this.stat({ bucket, path }).then(
        () => true,
        (error: unknown) => {
          if (isAbsent(error)) return false;
          throw error;
        },
      );
      await this.remove({ bucket, path });
      if (there) removed += 1;
    }
    return removed;
  }

  async signedUrl(ref: ObjectRef, options: SignedUrlOptions): Promise<SignedUrl> {
    checkSignedUrlOptions(options);
    // Like Supabase, sign only what exists.
    await this.stat(ref);
    const expires = Math.floor(Date.now() / 1000) + options.expiresInSeconds;
    return {
      url: signLocalUrl(this.#publicBaseUrl, { ref, expires, download: options.download }, this.#signingSecret),
      expires_at: new Date(expires * 1000).toISOString(),
    };
  }

  async ensureBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await mkdir(this.#paths.bucketDir(bucket), { recursive: true }).catch((error: unknown) => {
      throw classifyFsError(error, `bucket ${bucket}`);
    });
  }

  /**
   * The checked, real file of an existing object, opened for reading. A folder on the checked
   * path may be swapped for a link between the check and the open (O_NOFOLLOW guards only the
   * last component): the handle must be the very file that was checked, same device and inode.
   */
  async #open(ref: ObjectRef): Promise<OpenFile> {
    const checked = await this.#paths.existingFile(ref);
    const handle = await open(checked.path, READ_FLAGS);
    try {
      const stats = await handle.stat();
      if (stats.dev !== checked.stats.dev || stats.ino !== checked.stats.ino) {
        throw new StorageError('denied', `${describeRef(ref)} changed while it was being opened`);
      }
      checkReadable(ref, stats);
      return { handle, stats };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
}

/**
 * Only a regular file with no other name is an object. A hard link in a bucket to a file
 * elsewhere on the filesystem passes every path check, so a file with several names cannot be
 * proven to belong to its bucket: it is `denied` (the workflow's `asset_inaccessible`: there,
 * but not for this service to read), not `not_found`, so the merchant is told to look at it.
 * A copy's own temporary name is removed before its object is read (see `copy`).
 */
function checkReadable(ref: ObjectRef, stats: Stats): void {
  if (!stats.isFile()) throw new StorageError('not_found', `${describeRef(ref)} is not a file`);
  if (stats.nlink > 1) throw new StorageError('denied', `${describeRef(ref)} has other names (hard links)`);
}

/** An object's file, open, with what fstat said of it then. */
interface OpenFile {
  handle: FileHandle;
  stats: Stats;
}

/**
 * The bytes fstat counted (or those of `range`), in chunks of at most `CHUNK_BYTES`: each read
 * is no larger than what is left (a 10 KiB preview must not cost a 1 MiB buffer) and no read
 * is spent finding the end.
 */
function readBytes({ handle, stats }: OpenFile, autoClose: boolean, range?: ByteRange): Readable {
  // No `end` can say "nothing": read nothing, whatever is written to the file meanwhile. Only
  // inspect and copy meet an empty file here (a range is never empty), and they close it themselves.
  if (stats.size === 0) return Readable.from([]);
  const { start, end } = range ?? { start: 0, end: stats.size - 1 };
  return handle.createReadStream({ autoClose, highWaterMark: CHUNK_BYTES, start, end });
}

/** The bytes fstat counted, or those left if the file shrank meanwhile. */
async function readWhole({ handle, stats }: OpenFile): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(stats.size);
  let filled = 0;
  while (filled < bytes.length) {
    const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

/** A copy's temporary file sits next to its destination, named after it. */
const partialPrefix = (name: string): string => `.partial-${name}.`;

/**
 * Where `copyVerified` stages: its temporary's prefix as the last segment of a ref in the
 * destination's folder, named after the source, whose name may be too long to repeat.
 */
const stagingRef = (from: ObjectRef, into: ObjectFolder): ObjectRef =>
  placedRef(into, partialPrefix(createHash('sha256').update(describeRef(from)).digest('hex').slice(0, 32)));

/** This backend records an object's type by its name alone. */
function checkNamedForType(to: ObjectRef, content_type: string): void {
  if (contentTypeOf(to) !== content_type) {
    throw new RangeError(`${describeRef(to)} is not named as a ${content_type}, the type the copy must have`);
  }
}

/**
 * Removes temporary files of earlier attempts at this same copy, left when their process died
 * mid-way (a killed worker runs no `finally`). A copy is attempted again only once the earlier
 * attempt has ended or been given up on (its worker's heartbeat timed out), so they are litter.
 */
async function removeAbandonedPartials(dir: string, prefix: string): Promise<void> {
  const abandoned = (await readdir(dir)).filter((entry) => entry.startsWith(prefix));
  await Promise.all(abandoned.map((entry) => unlink(join(dir, entry)).catch(() => undefined)));
}

/** Writes `source` into a new file at `path`, durably (on a copy thread), and says what it wrote. */
async function writeNewFile(path: string, source: OpenFile, options: StreamOptions): Promise<ObjectInspection> {
  // `wx`: fail rather than write through anything already at this name, link or not.
  const target = await open(path, 'wx');
  try {
    return await copyOnThread(source.handle.fd, target.fd, source.stats.size, options);
  } finally {
    await target.close();
  }
}

/** Runs a filesystem operation on `ref`, classifying its failures once; an abort stays an abort. */
async function guard<T>(ref: ObjectRef, signal: AbortSignal | undefined, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    signal?.throwIfAborted();
    throw classifyFsError(error, describeRef(ref));
  }
}

const contentTypeOf = (ref: ObjectRef): string | null => CONTENT_TYPES.get(extname(ref.path).toLowerCase()) ?? null;
