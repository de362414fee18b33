import type { ImageContentType } from '../domain/images.js';
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
  /**
   * Copies `from` to `to` and proves the copy by streaming it through SHA-256. An identical
   * object already at `to` is success; a different one is a `StorageError` of kind `conflict`.
   * A copy whose SHA-256 is not `expectedSha256` is removed and reported as kind `mismatch`.
   */
  copy(from: ObjectRef, to: ObjectRef, expectedSha256: string, options?: StreamOptions): Promise<ObjectInspection>;
  /** Removes an object; a missing one is success. */
  remove(ref: ObjectRef): Promise<void>;
  signedUrl(ref: ObjectRef, options: SignedUrlOptions): Promise<SignedUrl>;
  /** Creates the bucket as private when it does not exist (dev and tests; production buckets are provisioned). */
  ensureBucket(bucket: string): Promise<void>;
}
