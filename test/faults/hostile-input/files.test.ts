import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signLocalUrl } from '../../../src/storage/local/local-signature.js';
import { PREVIEW_BUCKET, PRINT_BUCKET, sha256 } from '../../support/fixtures.js';
import { useHostileApp } from '../../support/hostile-app.js';

/** Hostile input on GET /files/:bucket/* (see `useHostileApp`): 2xx or a 4xx envelope, never a 5xx. */
const hostile = useHostileApp();
const { creds, png, assetPath, expectSafe, headerText, hostileText, segment } = hostile;

describe('hostile input: GET /files/:bucket/*', () => {
  it('never serves a file from outside its bucket, however the URL is made', async () => {
    const expires = String(Math.floor(Date.now() / 1000) + 3600);
    const good = signLocalUrl('', { ref: { bucket: PRINT_BUCKET, path: assetPath }, expires: Number(expires) }, creds.signingSecret);
    const goodQuery = good.slice(good.indexOf('?'));
    const targets = fc.oneof(
      // Forged: hostile paths and queries, signed with nothing or with junk.
      fc
        .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.option(headerText, { nil: undefined }))
        .map(([parts, query]) => `/files/${parts.join('/')}${query === undefined ? '' : `?${encodeURI(query)}`}`),
      // A genuine query on another path (the signature covers the path).
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/files/${parts.join('/')}${goodQuery}`),
      // Genuinely signed URLs for hostile object refs: signing must not be what keeps them out.
      fc
        .tuple(
          fc.oneof(fc.constantFrom(PRINT_BUCKET, PREVIEW_BUCKET, '..', '.', 'storage', ''), hostileText),
          fc.oneof(
            fc.constantFrom(
              'escape.png',
              'escape-dir/secret.txt',
              '../secret.txt',
              '../../secret.txt',
              'x/../../secret.txt',
              '%2e%2e/secret.txt',
              'escape-dir/storage/secret.txt',
            ),
            hostileText,
          ),
        )
        .map(([bucket, objectPath]) =>
          signLocalUrl('', { ref: { bucket, path: objectPath }, expires: Number(expires) }, creds.signingSecret),
        ),
      // The genuine object, signed, with hostile attachment file names.
      fc
        .oneof(hostileText, fc.constantFrom('../../etc/passwd', 'a\r\nSet-Cookie: x=1', 'a";b.png', 'x\u0000.png', '..\\..\\boot.ini'))
        .map((download) =>
          signLocalUrl('', { ref: { bucket: PRINT_BUCKET, path: assetPath }, expires: Number(expires), download }, creds.signingSecret),
        ),
    );
    let served = 0;
    await fc.assert(
      fc.asyncProperty(targets, fc.constantFrom('GET', 'HEAD'), async (url, method) => {
        const response = await hostile.app.inject({ method: method as 'GET', url });
        expectSafe(response, (status) => status === 200);
        if (response.statusCode === 200) {
          served += 1;
          const disposition = response.headers['content-disposition'];
          if (disposition !== undefined) expect(disposition).toMatch(/^attachment; filename="[A-Za-z0-9._ -]+"$/);
          // Only the one genuine object can ever come back.
          if (method === 'GET') expect(sha256(response.rawPayload)).toBe(sha256(png));
        }
      }),
      { numRuns: 400 },
    );
    // The genuine URL works, so the refusals above are not a broken route.
    const genuine = await hostile.app.inject({ method: 'GET', url: good });
    expect(genuine.statusCode).toBe(200);
    expect(genuine.rawPayload.equals(png)).toBe(true);
    console.log(`files route: ${served} of 400 hostile URLs served the one genuine object (with a plain file name)`);
  });
});
