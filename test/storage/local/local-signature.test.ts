import { describe, expect, it } from 'vitest';
import { LOCAL_FILES_PREFIX, signLocalUrl, verifyLocalUrl, type LocalUrlRequest } from '../../../src/storage/local/local-signature.js';

const SECRET = 'test-secret';
const NOW = Date.parse('2030-01-01T00:00:00Z');
const EXPIRES = NOW / 1000 + 600;
const ref = { bucket: 'print-assets', path: 'shop.myshopify.com/1001/final copy+1.png' };

/** What a files route mounted at `/files` receives for `url`, decoded as Fastify would. */
function received(url: string): LocalUrlRequest {
  const parsed = new URL(url);
  const [bucket = '', ...path] = parsed.pathname.slice(LOCAL_FILES_PREFIX.length + 1).split('/');
  const query = (name: string): string | undefined => parsed.searchParams.get(name) ?? undefined;
  return {
    bucket: decodeURIComponent(bucket),
    path: path.map(decodeURIComponent).join('/'),
    expires: query('expires'),
    download: query('download'),
    signature: query('signature'),
  };
}

const flipCharacter = (text: string, index: number): string =>
  `${text.slice(0, index)}${text[index] === 'A' ? 'B' : 'A'}${text.slice(index + 1)}`;

const sign = (download?: string): string => signLocalUrl('http://localhost:3000/', { ref, expires: EXPIRES, download }, SECRET);

describe('signLocalUrl', () => {
  it('builds a files URL with the path encoded segment by segment', () => {
    const url = sign('order 1001.png');
    expect(url).toMatch(
      /^http:\/\/localhost:3000\/files\/print-assets\/shop\.myshopify\.com\/1001\/final%20copy%2B1\.png\?expires=1893456600&download=order\+1001\.png&signature=[\w-]{43}$/,
    );
  });
});

describe('verifyLocalUrl', () => {
  it('accepts what signLocalUrl signed, until it expires', () => {
    expect(verifyLocalUrl(received(sign()), SECRET, NOW)).toEqual({
      ok: true,
      ref,
      download: null,
      expires_at: new Date(EXPIRES * 1000),
    });
    expect(verifyLocalUrl(received(sign('a.png')), SECRET, EXPIRES * 1000 - 1)).toMatchObject({ ok: true, download: 'a.png' });
    expect(verifyLocalUrl(received(sign()), SECRET, EXPIRES * 1000)).toEqual({ ok: false, reason: 'expired' });
  });

  it.each<[string, (request: LocalUrlRequest) => LocalUrlRequest]>([
    ['another bucket', (r) => ({ ...r, bucket: 'previews' })],
    ['another path', (r) => ({ ...r, path: r.path.replace('final', 'other') })],
    ['a later expiry', (r) => ({ ...r, expires: String(EXPIRES + 1) })],
    ['an added download name', (r) => ({ ...r, download: 'evil.png' })],
    ['another signature', (r) => ({ ...r, signature: flipCharacter(r.signature ?? '', 10) })],
  ])('refuses %s', (_change, alter) => {
    expect(verifyLocalUrl(alter(received(sign())), SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a dropped or changed download name', () => {
    const request = received(sign('a.png'));
    expect(verifyLocalUrl({ ...request, download: undefined }, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyLocalUrl({ ...request, download: 'b.png' }, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses another secret', () => {
    expect(verifyLocalUrl(received(sign()), 'other-secret', NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('signs with the first of `new,old` and accepts a URL signed with either while the old one is rotated out', () => {
    const signedWith = (secret: string): LocalUrlRequest => received(signLocalUrl('https://x.test', { ref, expires: EXPIRES }, secret));
    expect(verifyLocalUrl(signedWith(`new-secret,${SECRET}`), 'new-secret', NOW)).toMatchObject({ ok: true });
    expect(verifyLocalUrl(signedWith(SECRET), `new-secret, ${SECRET}`, NOW)).toMatchObject({ ok: true });
    expect(verifyLocalUrl(signedWith('new-secret'), `new-secret,${SECRET}`, NOW)).toMatchObject({ ok: true });
    expect(verifyLocalUrl(signedWith(`new-secret,${SECRET}`), SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyLocalUrl(signedWith('third-secret'), `new-secret,${SECRET}`, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it.each<[string, (request: LocalUrlRequest) => LocalUrlRequest]>([
    ['no signature', (r) => ({ ...r, signature: undefined })],
    ['no expiry', (r) => ({ ...r, expires: undefined })],
    ['an expiry with a leading zero', (r) => ({ ...r, expires: `0${r.expires}` })],
    ['a fractional expiry', (r) => ({ ...r, expires: `${r.expires}.0` })],
    ['a traversing path', (r) => ({ ...r, path: `../${r.path}` })],
    ['an invalid bucket', (r) => ({ ...r, bucket: '..' })],
    ['a download name with a quote', (r) => ({ ...r, download: 'a".png' })],
  ])('refuses %s as malformed', (_change, alter) => {
    expect(verifyLocalUrl(alter(received(sign())), SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });
});
