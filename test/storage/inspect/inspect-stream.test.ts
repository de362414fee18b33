import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { describe, expect, it } from 'vitest';
import {
  InspectingStream,
  PROGRESS_INTERVAL_BYTES,
  SNIFF_PREFIX_LIMIT,
  inspectStream,
} from '../../../src/storage/inspect/inspect-stream.js';
import { makeJpeg, makePng, makeWebp, sha256 } from '../../support/fixtures.js';
import { rejection } from '../storage-assertions.js';

/** A Node stream that hands `bytes` over in chunks of `size`. */
function chunked(bytes: Uint8Array, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += size) yield Buffer.from(bytes.subarray(offset, offset + size));
    })(),
    { objectMode: false },
  );
}

function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

describe('inspectStream', () => {
  const jpeg = makeJpeg(2000, 1000, { metadataBytes: 300_000 });

  it.each([1, 7, 4096, 65_536])('hashes, measures and sniffs whatever the chunk size (%i)', async (size) => {
    const bytes = size === 1 ? makePng(9, 4) : jpeg;
    const expected =
      size === 1 ? { content_type: 'image/png', width: 9, height: 4 } : { content_type: 'image/jpeg', width: 2000, height: 1000 };
    expect(await inspectStream(chunked(bytes, size))).toEqual({
      size_bytes: bytes.length,
      sha256: sha256(bytes),
      image: expected,
      truncated: false,
    });
  });

  const complete = { png: makePng(9, 4), jpeg: makeJpeg(20, 10), lossy: makeWebp(20, 10, 'lossy'), lossless: makeWebp(20, 10) };

  it.each([1, 7, 4096])('tells an image cut short by its last bytes, whatever the chunk size (%i)', async (size) => {
    for (const [name, bytes] of Object.entries(complete)) {
      expect((await inspectStream(chunked(bytes, size))).truncated, name).toBe(false);
      // Within its last 12 bytes (PNG's IEND chunk), short of its header.
      for (const cut of [1, 2, 11].filter((cut) => bytes.length - cut >= 30)) {
        const inspection = await inspectStream(chunked(bytes.subarray(0, bytes.length - cut), size));
        expect(inspection.image, `${name} less ${cut}`).not.toBeNull();
        expect(inspection.truncated, `${name} less ${cut}`).toBe(true);
      }
    }
  });

  it('takes bytes after a WebP’s declared size as complete, as decoders do, and a non-image as not truncated', async () => {
    expect((await inspectStream(chunked(Buffer.concat([complete.lossless, Buffer.alloc(3)]), 7))).truncated).toBe(false);
    // A PNG or JPEG must end with its end: bytes appended after it (a Motion Photo's video) are refused too.
    for (const image of [complete.png, complete.jpeg]) {
      expect((await inspectStream(chunked(Buffer.concat([image, Buffer.from('appended')]), 7))).truncated).toBe(true);
    }
    expect(await inspectStream(chunked(Buffer.from('not an image at all'), 4))).toMatchObject({ image: null, truncated: false });
  });

  it('reads a web ReadableStream, as fetch bodies are', async () => {
    const webp = makeWebp(77, 33);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(webp.subarray(0, 10));
        controller.enqueue(webp.subarray(10));
        controller.close();
      },
    });
    expect(await inspectStream(body)).toEqual({
      size_bytes: webp.length,
      sha256: sha256(webp),
      image: { content_type: 'image/webp', width: 77, height: 33 },
      truncated: false,
    });
  });

  it('passes every byte on to the destination', async () => {
    const bytes = randomBytes(300_000);
    const { sink, bytes: received } = collector();
    const inspection = await inspectStream(chunked(bytes, 10_000), {}, sink);
    expect(sha256(received())).toBe(sha256(bytes));
    expect(inspection.sha256).toBe(sha256(bytes));
  });

  it('gives up sniffing, not hashing, past its prefix limit', async () => {
    const hugeMetadata = makeJpeg(10, 10, { metadataBytes: SNIFF_PREFIX_LIMIT + 1000 });
    expect(await inspectStream(chunked(hugeMetadata, 65_536))).toEqual({
      size_bytes: hugeMetadata.length,
      sha256: sha256(hugeMetadata),
      image: null,
      truncated: false,
    });
  });

  it('finds no image in a truncated header', async () => {
    const truncated = makePng(10, 10).subarray(0, 20);
    expect((await inspectStream(chunked(truncated, 3))).image).toBeNull();
  });

  it('reports progress each time another interval has been read', async () => {
    const bytes = Buffer.alloc(3 * PROGRESS_INTERVAL_BYTES + 5);
    const progress: number[] = [];
    await inspectStream(chunked(bytes, 1_000_000), { onProgress: (read) => progress.push(read) });
    // Chunks of a million bytes cross 4, 8 and 12 MiB at the 5th, 9th and last chunk.
    expect(progress).toEqual([5_000_000, 9_000_000, bytes.length]);
  });

  it('also reports progress on the first bytes after progressEveryMs without a report, so a slow stream that moves keeps heartbeating', async () => {
    const slow = Readable.from(
      (async function* () {
        for (let chunk = 0; chunk < 4; chunk++) {
          await new Promise((resolve) => setTimeout(resolve, 60));
          yield Buffer.alloc(1_000);
        }
      })(),
    );
    const progress: number[] = [];
    await inspectStream(slow, { onProgress: (read) => progress.push(read), progressEveryMs: 50 });
    // Every chunk comes at least 60 ms after the previous report: each one is reported, far below 4 MiB.
    expect(progress).toEqual([1_000, 2_000, 3_000, 4_000]);
  });

  it('stops reading and rejects with the reason when aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1;
        this.push(Buffer.alloc(65_536));
      },
    });
    const done = inspectStream(endless, {
      signal: controller.signal,
      onProgress: () => controller.abort(reason),
    });
    expect(await rejection(done)).toBe(reason);
    expect(endless.destroyed).toBe(true);
    const producedAtAbort = produced;
    await new Promise((resolve) => setImmediate(resolve));
    expect(produced).toBe(producedAtAbort);
  });

  it('fails, rather than crash the process, when onProgress throws', async () => {
    const failure = new Error('heartbeat failed');
    const done = inspectStream(chunked(Buffer.alloc(PROGRESS_INTERVAL_BYTES + 1), 65_536), {
      onProgress: () => {
        throw failure;
      },
    });
    expect(await rejection(done)).toBe(failure);
  });

  it('passes a source failure on as it is', async () => {
    const failure = new Error('disk on fire');
    const failing = new Readable({
      read() {
        this.destroy(failure);
      },
    });
    expect(await rejection(inspectStream(failing))).toBe(failure);
  });
});

describe('InspectingStream', () => {
  it('has no inspection before the stream has finished', () => {
    expect(() => new InspectingStream().inspection).toThrow(/before the stream finished/);
  });
});
