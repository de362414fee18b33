import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { mkdir, open, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { errorCode } from '../../lib/error-code.js';
import { describeRef } from '../object-key.js';
import type { ObjectRef } from '../object-storage.js';
import { missingBucket, StorageError } from '../storage-error.js';

/** An object's file as it was checked: its real path inside the bucket, and lstat's answer. */
export interface CheckedFile {
  path: string;
  stats: Stats;
}

/** An object's real folder and its file name in it. */
export interface ObjectLocation {
  dir: string;
  name: string;
}

/**
 * Maps checked object refs to files under the storage root. Every path is resolved through
 * symlinks and proven to stay inside its bucket's real directory before it is used, so neither
 * a key nor a link inside the bucket reaches a file outside it. A bucket directory may itself
 * be a link (an operator's choice); objects may not leave it.
 *
 * Failures are raw fs errors, `StorageError('denied')` for an escape, or `no_bucket`.
 */
export class LocalPaths {
  /**
   * Each bucket's real directory, resolved once: a bucket's folder is set up by an operator
   * and does not move while the service runs, and resolving it again would cost every object
   * access a walk of the whole root path. Only successes are kept, so a bucket created later
   * is found.
   */
  readonly #realBuckets = new Map<string, string>();

  constructor(readonly root: string) {}

  bucketDir(bucket: string): string {
    return join(this.root, bucket);
  }

  async #realBucketDir(bucket: string): Promise<string> {
    const known = this.#realBuckets.get(bucket);
    if (known !== undefined) return known;
    const real = await realpath(this.bucketDir(bucket)).catch((error: unknown) => {
      // Storage that is set up wrong, not an object gone: the bucket folder is the operator's.
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw missingBucket(bucket);
      throw error;
    });
    this.#realBuckets.set(bucket, real);
    return real;
  }

  /**
   * The real path of an existing object's file, and what lstat says of it once it is proven
   * inside the bucket (it may still be a directory: check it). The real path has no links left
   * in it, so lstat sees the file itself.
   */
  async existingFile(ref: ObjectRef): Promise<CheckedFile> {
    const bucketDir = await this.#realBucketDir(ref.bucket);
    // Synchronous: two metadata calls of a local disk take microseconds, where two round trips
    // through the thread pool cost the process about five times their CPU (a signed URL's stat).
    const path = assertInside(bucketDir, realpathSync.native(join(bucketDir, ...ref.path.split('/'))), ref);
    return { path, stats: lstatSync(path) };
  }

  /** Where the object lives or would live, when its folder exists. */
  async existingLocation(ref: ObjectRef): Promise<ObjectLocation> {
    const bucketDir = await this.#realBucketDir(ref.bucket);
    const { folders, name } = split(ref);
    const dir = await realpath(join(bucketDir, ...folders));
    return { dir: assertInside(bucketDir, dir, ref), name };
  }

  /**
   * Syncs an existing object's folder, and each folder above it up to the bucket, into its
   * parent: an earlier attempt may have linked the object and died before syncing them.
   */
  async syncExistingPath(ref: ObjectRef): Promise<void> {
    const bucketDir = await this.#realBucketDir(ref.bucket);
    // Real and inside the bucket, so walking up reaches the bucket's folder.
    let dir = (await this.existingLocation(ref)).dir;
    for (;;) {
      await syncDirectory(dir);
      if (dir === bucketDir || dirname(dir) === dir) return;
      dir = dirname(dir);
    }
  }

  /**
   * Where the object will live, creating its folders inside the bucket; the bucket must exist.
   * Every folder's entry is synced into its parent, also one that exists: an earlier attempt
   * may have made it and died before syncing it.
   */
  async preparedLocation(ref: ObjectRef): Promise<ObjectLocation> {
    const bucketDir = await this.#realBucketDir(ref.bucket);
    const { folders, name } = split(ref);
    let dir = bucketDir;
    // One level at a time: `dir` is always real and inside, and mkdir never follows a link in
    // its last component, so no directory is ever created outside the bucket.
    for (const folder of folders) {
      const next = join(dir, folder);
      await mkdir(next).catch((error: unknown) => {
        if (errorCode(error) !== 'EEXIST') throw error;
      });
      await syncDirectory(dir);
      dir = assertInside(bucketDir, await realpath(next), ref);
    }
    return { dir, name };
  }
}

/** How platforms and filesystems say that a directory cannot be opened or synced this way. */
const CANNOT_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EISDIR', 'EPERM', 'EACCES']);

/**
 * Makes the entries of `dir` (a file linked or a folder made in it) survive a crash of the
 * machine, not only of the process. Where a directory cannot be synced (Windows, some
 * filesystems) it is left to the filesystem: the object is in place either way.
 */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (!CANNOT_SYNC.has(errorCode(error) ?? '')) throw error;
  }
}

function split(ref: ObjectRef): { folders: string[]; name: string } {
  const folders = ref.path.split('/');
  // A checked path has at least one segment.
  const name = folders.pop() ?? '';
  return { folders, name };
}

function assertInside(bucketDir: string, candidate: string, ref: ObjectRef): string {
  const path = relative(bucketDir, candidate);
  const inside = path === '' || (path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path));
  if (!inside) throw new StorageError('denied', `${describeRef(ref)} resolves outside its bucket`);
  return candidate;
}
