import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PREVIEW_BUCKET, PRINT_BUCKET } from '../../support/fixtures.js';
import { useHostileApp } from '../../support/hostile-app.js';

/** Hostile input on POST /v1/previews (see `useHostileApp`): 2xx or a 4xx envelope, never a 5xx. */
const hostile = useHostileApp();
const {
  creds,
  merchantToken,
  shop,
  otherShop,
  assetPath,
  expectSafe,
  hostileText,
  hostileValue,
  deepNesting,
  hugeArray,
  contentType,
  withoutUndefined,
} = hostile;

describe('hostile input: POST /v1/previews', () => {
  it('refuses an oversized hand-off with 413 before anything else', async () => {
    const preview = await hostile.app.inject({
      method: 'POST',
      url: '/v1/previews',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${creds.operatorToken}` },
      payload: `{"shop_id":"${shop}","pad":"${'x'.repeat(100_000)}"}`,
    });
    expectSafe(preview);
    expect(preview.statusCode).toBe(413);
  });

  it('answers hostile preview hand-offs with 2xx or a 4xx envelope', async () => {
    const job = fc.record(
      {
        shop_id: fc.oneof(fc.constant(shop), fc.constant(otherShop), hostileValue, hostileText),
        personalization_id: fc.oneof(hostileText, hostileValue),
        job_id: fc.oneof(fc.constantFrom('job-1', 'job-2'), hostileText, hostileValue),
        status: fc.oneof(fc.constantFrom('ready', 'rendering', 'failed'), hostileValue),
        bucket: fc.oneof(fc.constantFrom(PREVIEW_BUCKET, PRINT_BUCKET, '..', 'Previews', '../print-assets'), hostileText, hostileValue),
        path: fc.oneof(
          fc.constantFrom(
            '../../secret.txt',
            '../secret.txt',
            '/etc/passwd',
            'a/../../b.png',
            'a\\..\\b.png',
            'a/%2e%2e/b.png',
            'a\u0000.png',
            'a//b.png',
          ),
          hostileText,
          hostileValue,
        ),
        content_type: fc.oneof(fc.constantFrom('image/png', 'image/svg+xml'), hostileValue),
      },
      { requiredKeys: [] },
    );
    // Valid but for one hostile field: what reaches the hostile.database and the storage key checks.
    const nearlyValid = fc
      .tuple(
        fc.record({
          shop_id: fc.constantFrom(shop, otherShop),
          personalization_id: fc.oneof(fc.constant(`pers-${randomBytes(3).toString('hex')}`), hostileText),
          job_id: fc.constantFrom('job-1', 'job-2'),
          status: fc.constantFrom('ready', 'rendering', 'failed'),
          bucket: fc.constantFrom(PREVIEW_BUCKET, PRINT_BUCKET),
          path: fc.constant(`${shop}/preview.png`),
          content_type: fc.constant('image/png'),
        }),
        fc.constantFrom('personalization_id', 'job_id', 'bucket', 'path', 'shop_id', 'content_type'),
        fc.oneof(hostileText, hostileValue, fc.constantFrom('../../secret.txt', 'a/../b.png', 'a\\b.png', 'a/%2e%2e/b.png', 'a\u0000.png')),
      )
      .map(([valid, field, value]) => JSON.stringify({ ...valid, [field]: value }));
    const payload = fc.oneof(
      { arbitrary: nearlyValid, weight: 3 },
      { arbitrary: job.map((value) => JSON.stringify(value)), weight: 2 },
      { arbitrary: fc.json({ maxDepth: 4 }), weight: 1 },
      { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
      { arbitrary: deepNesting, weight: 1 },
      { arbitrary: hugeArray, weight: 1 },
    );
    const token = fc.constantFrom(creds.operatorToken, merchantToken);
    await fc.assert(
      fc.asyncProperty(payload, token, contentType, async (body, bearer, type) => {
        const response = await hostile.app.inject({
          method: 'POST',
          url: '/v1/previews',
          headers: withoutUndefined({ authorization: `Bearer ${bearer}`, 'content-type': type }),
          payload: body,
        });
        expectSafe(response, (status) => status === 200 || status === 201);
        if (response.statusCode < 300) {
          // What was recorded is a path that stays inside its bucket.
          const recorded = JSON.parse(response.body) as { path: string | null };
          if (recorded.path !== null) expect(recorded.path.split('/')).not.toContain('..');
        }
      }),
      { numRuns: 250 },
    );
  });

  it('lets a merchant hand off only its own shop’s objects as previews', async () => {
    // Otherwise: name another shop's object, order it, and read the copy through a signed URL.
    const post = (token: string, objectPath: string, bucket = PREVIEW_BUCKET) =>
      hostile.app.inject({
        method: 'POST',
        url: '/v1/previews',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: {
          shop_id: shop,
          personalization_id: `pers-${randomBytes(4).toString('hex')}`,
          job_id: 'job-x',
          status: 'ready',
          bucket,
          path: objectPath,
        },
      });
    for (const stolen of [`${otherShop}/preview.png`, assetPath.replace(shop, otherShop), `${shop}x/p.png`, 'preview.png']) {
      for (const bucket of [PREVIEW_BUCKET, PRINT_BUCKET]) {
        const refused = await post(merchantToken, stolen, bucket);
        expectSafe(refused);
        expect(refused.statusCode, stolen).toBe(403);
      }
    }
    expect((await post(merchantToken, `${shop}/preview.png`)).statusCode).toBe(201);
    // An operator (scope *) hands off for every shop, wherever the generator keeps its files.
    expect((await post(creds.operatorToken, `renders/${otherShop}.png`)).statusCode).toBe(201);
  });
});
