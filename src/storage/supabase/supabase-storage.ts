/**
 * Over 200 lines for a reason: one class holds the whole Supabase backend, each method next to
 * the way its failures are confirmed; requests and error classification live beside it.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { StorageClient } from '@supabase/storage-js';
import { resolveByteRange, type ByteRangeSpec } from '../byte-range.js';
import { acceptExisting, checkCopied, checkCopyArguments, inspectIfPresent, placedRef } from '../copy-checks.js';
import { idleTimeoutFetch } from './idle-timeout-fetch.js';
import { inspectStream } from '../inspect/inspect-stream.js';
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
import { classifySupabaseError } from './supabase-errors.js';
import { ask, send, type Endpoint } from './requests.js';
import { isAbsent, missingBucket, StorageError } from '../storage-error.js';

export interface SupabaseStorageOptions {
  /** `SUPABASE_URL`, the project URL; Storage lives under `/storage/v1`. */
  url: string;
  /** `SUPABASE_SERVICE_ROLE_KEY`: buckets are private, only the service reads them. */
  serviceKey: string;
  /**
   * How long storage may stay silent (no response yet, or no bytes of a body) before a request
   * fails as transient and is retried. Below the activities' 30 s heartbeat timeout.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 20_000;

/** Entries per listing request and keys per removal request (Storage's own limit is 1,000). */
const LIST_PAGE = 1000;

/**
 * Object storage in Supabase Storage. Bytes are only ever streamed: a copy happens on the
 * server and is then proven by reading it back through SHA-256.
 *
 * It uses storage-js's `StorageClient`, the client `createClient` wires up, on its own: on
 * Node 20 `createClient` throws for want of a global WebSocket (for Realtime, unused here), and
 * without an auth client no session token can ever replace the service key.
 */
export class SupabaseStorage implements ObjectStorage {
  readonly kind = 'supabase';
  readonly #storage: StorageClient;
  readonly #endpoint: Endpoint;

  constructor({ url, serviceKey, idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS }: SupabaseStorageOptions) {
    const endpoint = {
      url: new URL('storage/v1', url.endsWith('/') ? url : `${url}/`).href,
      headers: { apikey: serviceKey, Authorization: `Bearer ${serviceKey}` },
      fetch: idleTimeoutFetch(idleTimeoutMs),
    };
    this.#endpoint = endpoint;
    this.#storage = new StorageClient(endpoint.url, endpoint.headers, endpoint.fetch);
  }

  async stat(ref: ObjectRef): Promise<ObjectStat> {
    checkObjectRef(ref);
    const info = await ask(describeRef(ref), undefined, () => this.#storage.from(ref.bucket).info(ref.path)).catch((error: unknown) =>
      this.#throwConfirmed(error, ref.bucket),
    );
    // Storage has no size for an object whose upload has not completed.
    if (typeof info.size !== 'number') throw new StorageError('transient', `${describeRef(ref)} has no size yet`);
    return { size_bytes: info.size, content_type: info.contentType ?? null };
  }

  async inspect(ref: ObjectRef, options: StreamOptions = {}): Promise<ObjectInspection> {
    checkObjectRef(ref);
    const { signal } = options;
    const what = describeRef(ref);
    // `asStream()` hands over the response body unread; `download()` alone would buffer it all.
    const body = await ask(what, signal, () => this.#storage.from(ref.bucket).download(ref.path, undefined, { signal }).asStream()).catch(
      (error: unknown) => this.#throwConfirmed(error, ref.bucket),
    );
    try {
      return await inspectStream(body, options);
    } catch (error) {
      signal?.throwIfAborted();
      throw classifySupabaseError(error, what);
    }
  }

  /**
   * A range is resolved against the size `info` gives, as the local backend resolves it against
   * fstat's, and then asked for exactly: an object that changed in between fails as transient.
   */
  async read(ref: ObjectRef, rangeSpec?: ByteRangeSpec): Promise<ObjectRead> {
    checkObjectRef(ref);
    if (!rangeSpec) {
      const { body, headers } = await this.#get(ref);
      // Storage sends objects with their length; should a proxy have dropped it, ask for it.
      const length = headers.get('content-length');
      const size_bytes = length === null ? (await this.stat(ref)).size_bytes : Number(length);
      return { size_bytes, content_type: headers.get('content-type'), body };
    }
    const stat = await this.stat(ref);
    const { size_bytes } = stat;
    const range = resolveByteRange(rangeSpec, size_bytes) ?? null;
    if (!range) return { ...stat, range, body: Buffer.alloc(0) };
    const { body, headers } = await this.#get(ref, `bytes=${range.start}-${range.end}`);
    if (headers.get('content-range') !== `bytes ${range.start}-${range.end}/${size_bytes}`) {
      body.destroy();
      throw new StorageError('transient', `${describeRef(ref)} changed while it was being read`);
    }
    return { size_bytes, content_type: headers.get('content-type'), range, body };
  }

  async #get(ref: ObjectRef, range?: string): Promise<{ body: Readable; headers: Headers }> {
    const response = await send(this.#endpoint, describeRef(ref), `/object/authenticated/${ref.bucket}/${ref.path}`, {
      method: 'GET',
      headers: range ? { Range: range } : {},
    }).catch((error: unknown) => this.#throwConfirmed(error, ref.bucket));
    return { body: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), headers: response.headers };
  }

  /**
   * A server-side copy, which never overwrites: a destination that already exists answers
   * Duplicate (409) and is then judged by its own bytes, as it is when the source has gone
   * since an earlier copy. A fresh copy is read back; if it is not the expected bytes it is
   * removed. (Should that read fail, the retry finds the copy as an existing destination and
   * reports a wrong one as a conflict rather than a mismatch.)
   */
  async copy(from: ObjectRef, to: ObjectRef, expected: ExpectedObject, options: StreamOptions = {}): Promise<ObjectInspection> {
    checkCopyArguments(from, to, expected);
    try {
      await this.#serverCopy(from, to, expected.content_type, options.signal);
    } catch (error) {
      return this.#acceptExistingOrThrow(error, to, expected, options, from.bucket);
    }
    const copied = await this.inspect(to, options);
    try {
      checkCopied(copied, expected, to);
    } catch (mismatch) {
      await this.remove(to);
      throw mismatch;
    }
    return copied;
  }

  /**
   * The source is copied on the server to a temporary beside the destination, which is then
   * downloaded once, inspected and judged; the copy's name known, the temporary is copied on
   * the server again to it. Only this service writes the print bucket, so the temporary still
   * holds the bytes inspected, and a server-side copy moves none through the worker. (A killed
   * attempt leaves its temporary behind, a `.partial-*` object no URL is ever signed for.)
   */
  async copyVerified<P extends Placement>(
    from: ObjectRef,
    into: ObjectFolder,
    place: PlaceCopy<P>,
    options: StreamOptions = {},
  ): Promise<VerifiedCopy<P>> {
    checkObjectRef(from);
    const temp = placedRef(into, `.partial-${randomUUID()}`);
    try {
      await this.#serverCopy(from, temp, undefined, options.signal).catch((error: unknown) =>
        this.#throwConfirmed(error, from.bucket, into.bucket),
      );
      const inspection = await this.inspect(temp, options);
      const placement = place(inspection);
      const to = placedRef(into, placement.name);
      try {
        await this.#serverCopy(temp, to, placement.content_type, options.signal);
      } catch (error) {
        await this.#acceptExistingOrThrow(error, to, inspection, options);
      }
      return { to, inspection, placement };
    } finally {
      await this.remove(temp).catch(() => undefined);
    }
  }

  /**
   * Storage (since 2025-01) takes the copy's type in the copy request itself, so the copy never
   * holds the type its source was uploaded with; storage-js 2.109's `copy` sends no metadata.
   */
  async #serverCopy(from: ObjectRef, to: ObjectRef, contentType: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    await send(this.#endpoint, `copy ${describeRef(from)} to ${describeRef(to)}`, '/object/copy', {
      method: 'POST',
      json: {
        bucketId: from.bucket,
        sourceKey: from.path,
        destinationBucket: to.bucket,
        destinationKey: to.path,
        copyMetadata: false,
        ...(contentType ? { metadata: { mimetype: contentType } } : {}),
      },
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * A copy refused because its destination exists (Duplicate) is judged by that object's own
   * bytes, as it is when the source has gone since an earlier copy.
   */
  async #acceptExistingOrThrow(
    error: unknown,
    to: ObjectRef,
    expected: Pick<ExpectedObject, 'sha256'>,
    options: StreamOptions,
    ...buckets: string[]
  ): Promise<ObjectInspection> {
    if (!(isAbsent(error) || (error instanceof StorageError && error.kind === 'conflict'))) throw error;
    const existing = await inspectIfPresent(this, to, options);
    if (!existing) return this.#throwConfirmed(error, ...buckets, to.bucket);
    return acceptExisting(existing, expected, to);
  }

  async remove(ref: ObjectRef): Promise<void> {
    checkObjectRef(ref);
    // Storage answers a missing object with an empty list of removed ones.
    await ask(describeRef(ref), undefined, () => this.#storage.from(ref.bucket).remove([ref.path])).catch((error: unknown) => {
      if (!isAbsent(error)) throw error;
    });
  }

  /**
   * Storage lists one folder level at a time (`POST /object/list/{bucket}`, folders as entries
   * without an id): each level is read whole, page after page, before its files are answered
   * and its sub-folders walked, so removing a page's objects never shifts a page still to come.
   */
  async *list(folder: ObjectFolder): AsyncIterable<string[]> {
    checkObjectRef({ bucket: folder.bucket, path: folder.folder });
    const files: string[] = [];
    const folders: string[] = [];
    for (let offset = 0; ; offset += LIST_PAGE) {
      const entries = await ask(`${folder.bucket}/${folder.folder}/`, undefined, () =>
        this.#storage.from(folder.bucket).list(folder.folder, { limit: LIST_PAGE, offset, sortBy: { column: 'name', order: 'asc' } }),
      ).catch((error: unknown) => {
        if (isAbsent(error)) return [];
        throw error;
      });
      for (const entry of entries) (entry.id === null ? folders : files).push(`${folder.folder}/${entry.name}`);
      if (entries.length < LIST_PAGE) break;
    }
    for (let start = 0; start < files.length; start += LIST_PAGE) yield files.slice(start, start + LIST_PAGE);
    for (const sub of folders) yield* this.list({ bucket: folder.bucket, folder: sub });
  }

  async removeMany(bucket: string, paths: readonly string[]): Promise<number> {
    for (const path of paths) checkObjectRef({ bucket, path });
    let removed = 0;
    // Storage takes at most 1,000 keys per request and answers the objects it removed.
    for (let start = 0; start < paths.length; start += LIST_PAGE) {
      const batch = paths.slice(start, start + LIST_PAGE);
      const gone = await ask(`${batch.length} objects of ${bucket}`, undefined, () => this.#storage.from(bucket).remove(batch)).catch(
        (error: unknown) => {
          if (isAbsent(error)) return [];
          throw error;
        },
      );
      removed += gone.length;
    }
    return removed;
  }

  async signedUrl(ref: ObjectRef, options: SignedUrlOptions): Promise<SignedUrl> {
    checkObjectRef(ref);
    checkSignedUrlOptions(options);
    const { expiresInSeconds, download } = options;
    // Taken before asking, so `expires_at` is never later than the token's own `exp`.
    const issuedAt = Math.floor(Date.now() / 1000);
    const { signedUrl } = await ask(describeRef(ref), undefined, () =>
      this.#storage.from(ref.bucket).createSignedUrl(ref.path, expiresInSeconds, download === undefined ? undefined : { download }),
    );
    return { url: signedUrl, expires_at: new Date((issuedAt + expiresInSeconds) * 1000).toISOString() };
  }

  async ensureBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await ask(`bucket ${bucket}`, undefined, () => this.#storage.createBucket(bucket, { public: false })).catch((error: unknown) => {
      if (!(error instanceof StorageError && error.kind === 'conflict')) throw error;
    });
  }

  /**
   * Throws `error`, unless it says not found because a bucket is missing. Storage answers
   * NoSuchBucket both for a missing bucket and for a key that may not see it, and storage-js
   * before 2.112 passes that on as the same 404 as a missing object's: so a not_found is
   * believed only once the buckets involved are known to be there.
   */
  async #throwConfirmed(error: unknown, ...buckets: string[]): Promise<never> {
    if (error instanceof StorageError && error.kind === 'not_found') {
      for (const bucket of buckets) {
        const seen = await ask(`bucket ${bucket}`, undefined, () => this.#storage.getBucket(bucket)).then(
          () => true,
          (probe: unknown) => {
            if (probe instanceof StorageError && probe.kind === 'not_found') return false;
            throw probe;
          },
        );
        if (!seen) throw missingBucket(bucket);
      }
    }
    throw error;
  }
}
