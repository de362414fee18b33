import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { crc32 } from 'node:zlib';
import { PNG_IEND } from '../../src/storage/inspect/image-sniff.js';

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
