import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sniffImage, sniffImagePrefix, type SniffedImage } from '../../../src/storage/inspect/image-sniff.js';
import { makeJpeg, makePng, makeWebp } from '../../support/fixtures.js';

const images: { name: string; bytes: Buffer; image: SniffedImage }[] = [
  { name: 'PNG', bytes: makePng(640, 480), image: { content_type: 'image/png', width: 640, height: 480 } },
  { name: 'PNG 1×1', bytes: makePng(1, 1), image: { content_type: 'image/png', width: 1, height: 1 } },
  { name: 'JPEG', bytes: makeJpeg(1024, 768), image: { content_type: 'image/jpeg', width: 1024, height: 768 } },
  {
    name: 'JPEG after 300 kB of EXIF',
    bytes: makeJpeg(4000, 3000, { metadataBytes: 300_000 }),
    image: { content_type: 'image/jpeg', width: 4000, height: 3000 },
  },
  { name: 'WebP lossless (VP8L)', bytes: makeWebp(300, 200), image: { content_type: 'image/webp', width: 300, height: 200 } },
  {
    name: 'WebP extended (VP8X)',
    bytes: makeWebp(16383, 9, 'extended'),
    image: { content_type: 'image/webp', width: 16383, height: 9 },
  },
  { name: 'WebP lossy (VP8)', bytes: makeWebp(1920, 1080, 'lossy'), image: { content_type: 'image/webp', width: 1920, height: 1080 } },
];

describe('sniffImage', () => {
  it.each(images)('reads the type and pixel size of $name', ({ bytes, image }) => {
    expect(sniffImage(bytes)).toEqual(image);
  });

  it.each([
    ['text', Buffer.from('hello, this is not an image at all')],
    ['a GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1')],
    ['a PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n', 'latin1')],
    ['a RIFF that is not WebP', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00', 'latin1')],
    ['nothing', Buffer.alloc(0)],
  ])('finds no image in %s', (_name, bytes) => {
    expect(sniffImage(bytes)).toBeNull();
  });

  it('refuses a PNG whose IHDR checksum is wrong', () => {
    const png = makePng(10, 10);
    png[16] = 0xff; // width changed without its CRC
    expect(sniffImagePrefix(png)).toEqual({ status: 'not_image' });
  });

  it('refuses a JPEG whose scan starts before any frame header', () => {
    const noFrame = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 1, 1, 0, 0, 63, 0]);
    expect(sniffImagePrefix(noFrame)).toEqual({ status: 'not_image' });
  });

  it('refuses a JPEG whose segments run into garbage', () => {
    const jpeg = makeJpeg(8, 8);
    jpeg[20] = 0x42; // where the next marker's 0xFF belongs, after the 16-byte JFIF segment
    expect(sniffImagePrefix(jpeg)).toEqual({ status: 'not_image' });
  });

  it('skips 0xFF fill bytes before a marker', () => {
    const jpeg = makeJpeg(33, 17);
    const filled = Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xff, 0xff]), jpeg.subarray(2)]);
    expect(sniffImage(filled)).toEqual({ content_type: 'image/jpeg', width: 33, height: 17 });
  });

  it('refuses a zero-sized image', () => {
    const webp = makeWebp(10, 10, 'lossy');
    webp.writeUInt16LE(0, 26);
    expect(sniffImage(webp)).toBeNull();
  });
});

describe('sniffImagePrefix', () => {
  it.each(images)('asks for more bytes, never guesses, on every truncation of $name', ({ bytes, image }) => {
    for (let length = 0; length <= bytes.length; length += 1) {
      const result = sniffImagePrefix(bytes.subarray(0, length));
      if (result.status !== 'need_more') {
        expect(result).toEqual({ status: 'image', image });
        return;
      }
      if (result.needed <= length) expect.fail(`asked for ${result.needed} bytes with ${length} in hand`);
    }
    expect.fail('never decided');
  });

  it('says how far a JPEG needs to go to get past its metadata', () => {
    const jpeg = makeJpeg(100, 50, { metadataBytes: 200_000 });
    const result = sniffImagePrefix(jpeg.subarray(0, 1000));
    expect(result.status).toBe('need_more');
    if (result.status !== 'need_more') return;
    // The first APP1 segment is skipped by its length: the next marker is 64 kB further on.
    expect(result.needed).toBeGreaterThan(60_000);
    expect(sniffImagePrefix(jpeg.subarray(0, result.needed)).status).toBe('need_more');
  });

  it('never throws and answers a well-formed result for any bytes', () => {
    const prefixes = [Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('RIFF')];
    fc.assert(
      fc.property(fc.constantFrom(Buffer.alloc(0), ...prefixes), fc.uint8Array({ maxLength: 200 }), (start, rest) => {
        const result = sniffImagePrefix(Buffer.concat([start, rest]));
        if (result.status === 'need_more') expect(result.needed).toBeGreaterThan(start.length + rest.length);
        if (result.status === 'image') {
          expect(result.image.width).toBeGreaterThan(0);
          expect(result.image.height).toBeGreaterThan(0);
        }
      }),
    );
  });
});
