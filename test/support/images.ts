import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { PNG_IEND } from '../../src/storage/inspect/image-sniff.js';

/**
 * Minimal image files built byte by byte, for tests that need real PNG, JPEG and WebP bytes
 * without fixtures on disk. PNG, JPEG and lossless or extended WebP are complete, decodable
 * images of one flat colour; lossy WebP is header-accurate only (its frame data is zeros).
 * Tests import them from `fixtures.ts`, with the rest of their data.
 */

export type Rgb = readonly [red: number, green: number, blue: number];

const GREY: Rgb = [128, 128, 128];

/** An 8-bit RGB PNG: signature, IHDR, one zlib-compressed IDAT, IEND, each with its CRC. */
export function makePng(width: number, height: number, colour: Rgb = GREY): Buffer {
  checkSize(width, height, 0x7fffffff);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, adaptive filters, no interlace
  const row = Buffer.alloc(1 + width * 3); // each scanline starts with filter type 0 (none)
  for (let x = 0; x < width; x += 1) row.set(colour, 1 + x * 3);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const chunk = Buffer.alloc(8 + data.length + 4);
  chunk.writeUInt32BE(data.length, 0);
  typeAndData.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typeAndData), 8 + data.length);
  return chunk;
}

export interface JpegOptions {
  /**
   * Bytes of APP1 (EXIF) metadata between the JFIF header and the frame header, split into as
   * many segments as their 16-bit lengths need: a sniffer must skip them to find the size.
   */
  metadataBytes?: number;
}

/**
 * A baseline greyscale JPEG of flat mid-grey. The Huffman tables hold one code each (DC
 * difference 0, AC end-of-block), so every 8×8 block is two zero bits.
 */
export function makeJpeg(width: number, height: number, options: JpegOptions = {}): Buffer {
  checkSize(width, height, 0xffff);
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const scan = Buffer.alloc(Math.ceil((2 * blocks) / 8));
  // Pad the last byte with 1 bits, as the standard asks; zeros elsewhere never need 0xFF stuffing.
  const usedBits = (2 * blocks) % 8;
  if (usedBits > 0) scan[scan.length - 1] = 0xff >> usedBits;
  const frame = Buffer.alloc(9);
  frame.writeUInt8(8, 0); // sample precision
  frame.writeUInt16BE(height, 1);
  frame.writeUInt16BE(width, 3);
  frame.set([1, 1, 0x11, 0], 5); // one component: id 1, no subsampling, quantisation table 0
  const oneCodeTable = (tableClassAndId: number): Buffer => Buffer.from([tableClassAndId, 1, ...new Array<number>(15).fill(0), 0x00]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]), // SOI
    jpegSegment(0xe0, Buffer.from([...Buffer.from('JFIF\0', 'ascii'), 1, 1, 0, 0, 1, 0, 1, 0, 0])),
    ...exifSegments(options.metadataBytes ?? 0),
    jpegSegment(0xdb, Buffer.from([0x00, ...new Array<number>(64).fill(1)])), // DQT
    jpegSegment(0xc0, frame), // SOF0
    jpegSegment(0xc4, oneCodeTable(0x00)), // DHT: DC table 0
    jpegSegment(0xc4, oneCodeTable(0x10)), // DHT: AC table 0
    jpegSegment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])), // SOS: component 1 with tables 0, full spectrum
    scan,
    Buffer.from([0xff, 0xd9]), // EOI
  ]);
}

function jpegSegment(marker: number, data: Buffer): Buffer {
  const header = Buffer.from([0xff, marker, 0, 0]);
  header.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([header, data]);
}

function exifSegments(total: number): Buffer[] {
  const segments: Buffer[] = [];
  const identifier = Buffer.from('Exif\0\0', 'ascii');
  for (let left = total; left > 0;) {
    const size = Math.min(left, 0xffff - 2 - identifier.length);
    segments.push(jpegSegment(0xe1, Buffer.concat([identifier, Buffer.alloc(size, 0x2a)])));
    left -= size;
  }
  return segments;
}

/** `lossless` (VP8L), `extended` (VP8X around VP8L) and `lossy` (VP8, header only). */
export type WebpFormat = 'lossless' | 'extended' | 'lossy';

export function makeWebp(width: number, height: number, format: WebpFormat = 'lossless', colour: Rgb = GREY): Buffer {
  checkSize(width, height, format === 'lossy' ? 0x3fff : 0x4000);
  switch (format) {
    case 'lossless':
      return riff([riffChunk('VP8L', vp8l(width, height, colour))]);
    case 'extended': {
      const canvas = Buffer.alloc(10); // flags (none), three reserved bytes, then the canvas size
      canvas.writeUIntLE(width - 1, 4, 3);
      canvas.writeUIntLE(height - 1, 7, 3);
      return riff([riffChunk('VP8X', canvas), riffChunk('VP8L', vp8l(width, height, colour))]);
    }
    case 'lossy':
      return riff([riffChunk('VP8 ', vp8KeyFrameHeader(width, height))]);
  }
}

/**
 * A VP8L bitstream whose five prefix codes each hold a single symbol, which costs zero bits to
 * read: the header and codes are the whole image, every pixel being the same colour.
 */
function vp8l(width: number, height: number, [red, green, blue]: Rgb): Buffer {
  const bits = new BitWriter();
  bits.write(0x2f, 8); // signature
  bits.write(width - 1, 14);
  bits.write(height - 1, 14);
  bits.write(0, 1); // alpha is not used
  bits.write(0, 3); // version 0
  bits.write(0, 1); // no transform
  bits.write(0, 1); // no colour cache
  bits.write(0, 1); // no meta prefix codes
  for (const symbol of [green, red, blue, 255, 0]) {
    bits.write(1, 1); // simple code
    bits.write(0, 1); // with one symbol
    bits.write(1, 1); // of 8 bits
    bits.write(symbol, 8);
  }
  return bits.bytes();
}

function vp8KeyFrameHeader(width: number, height: number): Buffer {
  const frame = Buffer.alloc(30);
  // Frame tag: key frame (bit 0 clear), version 0, shown, first partition size 0.
  frame.writeUIntLE(0b10000, 0, 3);
  frame.set([0x9d, 0x01, 0x2a], 3); // start code
  frame.writeUInt16LE(width, 6); // 14 bits of size, 2 bits of scale (none)
  frame.writeUInt16LE(height, 8);
  return frame;
}

function riffChunk(fourCc: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(fourCc, 0, 'ascii');
  header.writeUInt32LE(data.length, 4);
  // Chunks are padded to an even length; the size field does not count the pad byte.
  return Buffer.concat([header, data, Buffer.alloc(data.length % 2)]);
}

function riff(chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WEBP', 'ascii'), ...chunks]);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Writes values least significant bit first, as VP8L reads them. */
class BitWriter {
  readonly #bytes: number[] = [];
  #bitCount = 0;

  write(value: number, width: number): void {
    for (let bit = 0; bit < width; bit += 1) {
      const byte = this.#bitCount >> 3;
      // A byte not written yet starts empty; assigning one past the end appends it.
      this.#bytes[byte] = (this.#bytes[byte] ?? 0) | (((value >> bit) & 1) << (this.#bitCount & 7));
      this.#bitCount += 1;
    }
  }

  bytes(): Buffer {
    return Buffer.from(this.#bytes);
  }
}

function checkSize(width: number, height: number, max: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > max || height > max) {
    throw new RangeError(`Image size ${width}×${height} is outside 1..${max}`);
  }
}

/**
 * A large "image": a real PNG header (signature, IHDR with its CRC; what sniffing reads),
 * filler bytes, and PNG's closing IEND chunk (what the truncation check reads), `sizeBytes`
 * in all. Verification never decodes pixels, so this is what a large print file costs it.
 */
const HEADER = pngHeader(4096, 4096);
const IEND = Buffer.from(PNG_IEND);

function pngHeader(width: number, height: number): Buffer {
  const typeAndData = Buffer.alloc(17);
  typeAndData.write('IHDR', 0, 'ascii');
  typeAndData.writeUInt32BE(width, 4);
  typeAndData.writeUInt32BE(height, 8);
  typeAndData.set([8, 2, 0, 0, 0], 12); // 8-bit RGB, deflate, adaptive filters, no interlace
  const chunk = Buffer.alloc(4 + 17 + 4);
  chunk.writeUInt32BE(13, 0);
  typeAndData.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typeAndData), 21);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk]);
}

export function pngWithFiller(sizeBytes: number): Buffer {
  const bytes = Buffer.alloc(Math.max(sizeBytes, HEADER.length + IEND.length));
  HEADER.copy(bytes);
  randomBytes(Math.min(bytes.length - HEADER.length, 64 * 1024)).copy(bytes, HEADER.length);
  for (let offset = HEADER.length + 64 * 1024; offset < bytes.length; offset += 64 * 1024) {
    bytes.copyWithin(offset, HEADER.length, HEADER.length + Math.min(64 * 1024, bytes.length - offset));
  }
  IEND.copy(bytes, bytes.length - IEND.length);
  return bytes;
}

/** The same, streamed to `file` in 1 MiB blocks (never whole in memory). */
export async function writePngWithFiller(file: string, sizeBytes: number): Promise<void> {
  const out = createWriteStream(file);
  const block = randomBytes(1024 * 1024);
  out.write(HEADER);
  const fillTo = sizeBytes - IEND.length;
  let written = HEADER.length;
  while (written < fillTo) {
    const chunk = block.subarray(0, Math.min(block.length, fillTo - written));
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end(IEND);
  await once(out, 'finish');
}
