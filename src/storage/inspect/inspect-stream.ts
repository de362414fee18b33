import { createHash } from 'node:crypto';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { endsComplete, IMAGE_HEAD_LENGTH, IMAGE_TRAILER_LENGTH, sniffImagePrefix, type SniffResult } from './image-sniff.js';
import type { ObjectInspection, StreamOptions } from '../object-storage.js';

/** How often `onProgress` fires by size: often enough for a heartbeat, rarely enough to cost nothing. */
export const PROGRESS_INTERVAL_BYTES = 4 * 1024 * 1024;

/**
 * The most leading bytes kept for sniffing. PNG and WebP need 30; a JPEG needs everything up
 * to its frame header, after its APPn segments. A JPEG whose metadata is larger is reported
 * as not an image rather than buffered without bound.
 */
export const SNIFF_PREFIX_LIMIT = 1024 * 1024;

/**
 * Learns, in bounded memory, what an `ObjectInspection` holds about the bytes given to
 * `update` in order: SHA-256, size and the sniffed image. It keeps no chunk it is given (what
 * it keeps is copied), so a caller may reuse its buffers. `finish` once, after the last chunk.
 */
export class ByteInspector {
  readonly #hash = createHash('sha256');
  readonly #onProgress: ((bytesRead: number) => void) | undefined;
  readonly #progressEveryMs: number;
  #size = 0;
  #nextProgressAt = PROGRESS_INTERVAL_BYTES;
  #lastProgressMs = performance.now();
  #prefix: Buffer[] = [];
  #prefixLength = 0;
  #sniff: SniffResult = { status: 'need_more', needed: 1 };
  /** The first and last bytes, for `endsComplete`. */
  #head: Buffer = Buffer.alloc(0);
  #tail: Buffer = Buffer.alloc(0);

  constructor(options: Pick<StreamOptions, 'onProgress' | 'progressEveryMs'> = {}) {
    this.#onProgress = options.onProgress;
    this.#progressEveryMs = options.progressEveryMs ?? Infinity;
  }

  /** The next chunk; throws what `onProgress` throws. */
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
    this.#sniffWith(chunk);
    this.#keepTail(chunk);
    this.#reportProgress();
  }

  finish(): ObjectInspection {
    const image = this.#sniff.status === 'image' ? this.#sniff.image : null;
    this.#prefix = [];
    return {
      size_bytes: this.#size,
      sha256: this.#hash.digest('hex'),
      image,
      truncated: image !== null && !endsComplete(image.content_type, this.#head, this.#tail, this.#size),
    };
  }

  #keepTail(chunk: Uint8Array): void {
    // A copy, as for the prefix; chunks are far longer than the tail, so this is nearly always one small one.
    this.#tail =
      chunk.byteLength >= IMAGE_TRAILER_LENGTH
        ? Buffer.from(chunk.subarray(chunk.byteLength - IMAGE_TRAILER_LENGTH))
        : Buffer.concat([this.#tail, chunk]).subarray(-IMAGE_TRAILER_LENGTH);
  }

  #reportProgress(): void {
    if (!this.#onProgress) return;
    const now = performance.now();
    if (this.#size < this.#nextProgressAt && now - this.#lastProgressMs < this.#progressEveryMs) return;
    this.#nextProgressAt = (Math.floor(this.#size / PROGRESS_INTERVAL_BYTES) + 1) * PROGRESS_INTERVAL_BYTES;
    this.#lastProgressMs = now;
    this.#onProgress(this.#size);
  }

  #sniffWith(chunk: Uint8Array): void {
    if (this.#sniff.status !== 'need_more' || this.#prefixLength >= SNIFF_PREFIX_LIMIT) return;
    // A copy: the producer owns its chunks, and a small slice must not pin a large buffer.
    const kept = Buffer.from(chunk.subarray(0, SNIFF_PREFIX_LIMIT - this.#prefixLength));
    this.#prefix.push(kept);
    this.#prefixLength += kept.length;
    if (this.#prefixLength < this.#sniff.needed) return;
    const prefix = Buffer.concat(this.#prefix, this.#prefixLength);
    this.#sniff = sniffImagePrefix(prefix);
    if (this.#sniff.status === 'image') this.#head = Buffer.from(prefix.subarray(0, IMAGE_HEAD_LENGTH));
    // Once decided, the prefix has done its job.
    this.#prefix = this.#sniff.status === 'need_more' ? [prefix] : [];
  }
}

/**
 * A pass-through stream that learns what a `ByteInspector` does about the bytes flowing
 * through it. Read `inspection` once the stream has finished.
 */
export class InspectingStream extends Transform {
  readonly #inspector: ByteInspector;
  #inspection: ObjectInspection | undefined;

  constructor(options: Pick<StreamOptions, 'onProgress' | 'progressEveryMs'> = {}) {
    super();
    this.#inspector = new ByteInspector(options);
  }

  /** What the bytes were; throws if read before the stream has finished. */
  get inspection(): ObjectInspection {
    if (!this.#inspection) throw new Error('InspectingStream.inspection read before the stream finished');
    return this.#inspection;
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#inspector.update(chunk);
    } catch (error) {
      // A throw here would escape the stream as an uncaught exception; fail the stream instead.
      callback(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#inspection = this.#inspector.finish();
    callback();
  }
}

export type ByteSource = Readable | ReadableStream<Uint8Array>;

/**
 * Streams `source` through an `InspectingStream` into `destination` (or nowhere), with
 * backpressure, so memory stays bounded whatever the size. An abort rejects with the
 * signal's reason, as `signal.throwIfAborted()` would.
 */
export async function inspectStream(
  source: ByteSource,
  options: StreamOptions = {},
  destination: Writable = discard(),
): Promise<ObjectInspection> {
  const inspector = new InspectingStream(options);
  const readable = source instanceof Readable ? source : Readable.fromWeb(source);
  try {
    await pipeline(readable, inspector, destination, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    options.signal?.throwIfAborted();
    throw error;
  }
  return inspector.inspection;
}

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
