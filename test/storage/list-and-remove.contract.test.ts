import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../support/fixtures.js';
import { Teardown } from '../support/teardown.js';
import { localHarness, supabaseHarness, type HarnessFactory, type StorageHarness } from './harnesses.js';

/** `list` and `removeMany`, what a redaction erases with, against each backend (Supabase: over HTTP to the stand-in). */
describe.each<{ backend: string; start: HarnessFactory }>([
  { backend: 'local', start: localHarness },
  { backend: 'supabase', start: supabaseHarness },
])('ObjectStorage list and removeMany: $backend', ({ start }) => {
  const BUCKET = 'print-assets';
  let h: StorageHarness;
  const teardown = new Teardown();
  beforeAll(async () => {
    h = await start();
    teardown.defer(() => h.close());
    await h.storage.ensureBucket(BUCKET);
  });
  afterAll(() => teardown.run());

  const listAll = async (folder: string): Promise<string[]> => {
    const paths: string[] = [];
    for await (const page of h.storage.list({ bucket: BUCKET, folder })) paths.push(...page);
    return paths.sort();
  };

  it('lists every object under a folder at any depth, and nothing of a sibling folder sharing its prefix', async () => {
    const shop = `shop-${randomUUID().slice(0, 8)}.myshopify.com`;
    const inside = [`${shop}/1/a.png`, `${shop}/1/b.png`, `${shop}/2/deep/c.png`, `${shop}/top.png`];
    const beside = [`${shop}x/1/a.png`, `${shop.slice(0, -1)}/1/a.png`];
    for (const path of [...inside, ...beside]) await h.put({ bucket: BUCKET, path }, makePng(2, 2), 'image/png');
    expect(await listAll(shop)).toEqual([...inside].sort());
    expect(await listAll(`${shop}/2`)).toEqual([`${shop}/2/deep/c.png`]);
    expect(await listAll(`${shop}/none`)).toEqual([]);
  });

  it('removes objects, counting those that were there; a page removed while listing does not disturb the listing', async () => {
    const shop = `shop-${randomUUID().slice(0, 8)}.myshopify.com`;
    // More than one listing page (1,000) in one folder, and a sub-folder.
    const paths = Array.from({ length: 1_005 }, (_, index) => `${shop}/${index < 1_002 ? '' : 'sub/'}${index}.png`);
    const bytes = makePng(1, 1);
    await Promise.all(paths.map((path) => h.put({ bucket: BUCKET, path }, bytes, 'image/png')));
    let removed = 0;
    for await (const page of h.storage.list({ bucket: BUCKET, folder: shop })) removed += await h.storage.removeMany(BUCKET, page);
    expect(removed).toBe(paths.length);
    expect(await listAll(shop)).toEqual([]);
    expect(await h.read({ bucket: BUCKET, path: paths[0] ?? '' })).toBeNull();
    expect(await h.storage.removeMany(BUCKET, paths.slice(0, 3))).toBe(0);
  });
});
