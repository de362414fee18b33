import type { Readable } from 'node:stream';
import type { ImageContentType } from '../domain/images.js';
import type { ByteRange, ByteRangeSpec } from './byte-range.js';

/** Where an object lives. Buckets are private; paths never start with `/`. */
export interface ObjectRef {
  bucket: string;
  path: string;
}

// Declared in the domain; re-exported for the backends that speak of them.
export { IMAGE_EXTENSIONS, IMAGE_TYPES, type ImageContentType } from '../domain/images.js';

export interface ObjectStat {
  size_bytes: number;
  /** The content type the storage holds for the object, when it records one. */
  content_type: string | null;
}

/** What one streamed pass over an object learns, in bounded memory. */
export interface ObjectInspection {
  size_bytes: number;
  sha256: string;
  /** Sniffed from the bytes, never taken from metadata; null when not a supported image. */
  image: { content_type: ImageContentType; width: number; height: number } | null;
  /** An image whose bytes stop before its format's end (a partial upload); false when `image` is null. */
  truncated: boolean;
}

export interface StreamOptions {
  /**
   * Called with the bytes read so far every few MiB, and on the first bytes after
   * `progressEveryMs` without a call: activities heartbeat from it, so a stream that moves,
   * however slowly, keeps its activity alive, and one that stalls does not.
   */
  onProgress?: (bytesRead: number) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
}

/** What a copy must hold: the bytes verified earlier, named by their hash, and their sniffed type. */
export interface ExpectedObject {
  sha256: string;
  /** Recorded as the copy's content type, whatever type its source was uploaded with. */
  content_type: ImageContentType;
}

/** A folder of a bucket, where a verified copy is placed under the name its bytes give it. */
export interface ObjectFolder {
  bucket: string;
  /** A valid object path without its last segment, e.g. `shop/1001`. */
  folder: string;
}

/**
 * Judges a copy's bytes once they have been read, and names them: their name in the folder and
 * the type they are recorded with. Throwing refuses them: nothing is published.
 */
export type PlaceCopy<P extends Placement = Placement> = (inspection: ObjectInspection) => P;

export interface Placement {
  name: string;
  content_type: ImageContentType;
}

/** Where a verified copy was placed, what its bytes are, and what `place` made of them. */
export interface VerifiedCopy<P extends Placement = Placement> {
  to: ObjectRef;
  inspection: ObjectInspection;
  placement: P;
}

/** An object opened for serving: the whole of it, or the bytes of one range. */
export interface ObjectRead extends ObjectStat {
  /**
   * The bytes: a buffer when the backend read them already (a small local file), else a stream
   * that releases its file or connection when it ends or is destroyed.
   */
  body: Buffer | Readable;
  /**
   * Set when a range was asked for: the bytes `body` holds, or null when the range selects none
   * of the object (`body` is then empty). `size_bytes` is the whole object's size either way.
   */
  range?: ByteRange | null;
}

export interface SignedUrl {
  url: string;
  expires_at: string;
}

export interface SignedUrlOptions {
  expiresInSeconds: number;
  /** Serve as an attachment with this file name (plain ASCII). */
  download?: string;
}

/**
 * The one storage interface fulfillment needs; the local filesystem and Supabase Storage
 * implement it. Failures are `StorageError`s, classified once by each backend.
 */
export interface ObjectStorage {
  readonly kind: 'local' | 'supabase';
  stat(ref: ObjectRef): Promise<ObjectStat>;
  inspect(ref: ObjectRef, options?: StreamOptions): Promise<ObjectInspection>;
  /** The object's bytes, or those `range` selects of the size it has once it is open. */
  read(ref: ObjectRef, range?: ByteRangeSpec): Promise<ObjectRead>;
  /**
   * Copies `from` to `to`, with `expected.content_type` as its content type, and proves the
   * copy by streaming it through SHA-256. An identical object already at `to` is success; a
   * different one is a `StorageError` of kind `conflict`. A copy that is not the expected
   * bytes of the expected type is removed and reported as kind `mismatch`.
   */
  copy(from: ObjectRef, to: ObjectRef, expected: ExpectedObject, options?: StreamOptions): Promise<ObjectInspection>;
  /**
   * Copies `from` into `into` in one pass over its bytes, inspecting them on the way: `place`
   * judges the inspection and names the copy, which is then published, never replacing an
   * object (an identical one already there is success, a different one a `conflict`). For a
   * destination named by content (the bytes' SHA-256), where `copy` would need a pass to learn
   * the name before the pass that copies. Errors thrown by `place` pass through unchanged.
   */
  copyVerified<P extends Placement>(
    from: ObjectRef,
    into: ObjectFolder,
    place: PlaceCopy<P>,
    options?: StreamOptions,
  ): Promise<VerifiedCopy<P>>;
  /** Removes an object; a missing one is success. */
  remove(ref: ObjectRef): Promise<void>;
  /**
   * The paths of every object under `folder`, at any depth, a page at a time. Removing the
   * objects of a page before asking for the next one is safe (erasure lists and removes as it goes).
   */
  list(folder: ObjectFolder): AsyncIterable<string[]>;
  /** Removes the objects at `paths` of one bucket; missing ones are success. Answers how many were there. */
  removeMany(bucket: string, paths: readonly string[]): Promise<number>;
  signedUrl(ref: ObjectRef, options: SignedUrlOptions): Promise<SignedUrl>;
  /** Creates the bucket as private when it does not exist (dev and tests; production buckets are provisioned). */
  ensureBucket(bucket: string): Promise<void>;
}
