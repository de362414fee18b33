import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { ObjectInspection, ObjectStorage } from '../../src/storage/object-storage.js';
import { SupabaseStorage } from '../../src/storage/supabase/supabase-storage.js';
import { writeLargePng } from '../support/fixtures.js';
import { SupabaseStorageStandIn } from '../support/supabase-storage-stand-in.js';
import { Teardown } from '../support/teardown.js';

/**
 * A 300 MB object goes through inspect, copy and copyVerified on both backends while the process's resident
 * memory is sampled: streaming must keep it flat, whatever the object's size.
 */
const SIZE_MIB = 300;
const MIB = 1024 * 1024;
const MEMORY_BUDGET = 64 * MIB;

describe(`a ${SIZE_MIB} MB object`, () => {
  let base: string;
  let file: string;
  let expected: ObjectInspection;
  let standIn: SupabaseStorageStandIn;
  const measured: string[] = [];

  const teardown = new Teardown();
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'printready-large-'));
    teardown.defer(() => rm(base, { recursive: true, force: true }));
    await mkdir(join(base, 'storage', 'previews'), { recursive: true });
    await mkdir(join(base, 'storage', 'print-assets'));
    file = join(base, 'storage', 'previews', 'large.png');
    expected = await writeLargePng(file, SIZE_MIB, { incompressible: true });
    standIn = await SupabaseStorageStandIn.start();
    teardown.defer(() => standIn.close());
  });
  afterAll(async () => {
    await teardown.run();
    console.info(`Memory growth with a ${SIZE_MIB} MiB object:\n  ${measured.join('\n  ')}`);
  });

  async function exercise(name: string, storage: ObjectStorage): Promise<void> {
    const from = { bucket: 'previews', path: 'large.png' };
    const to = { bucket: 'print-assets', path: 'shop.myshopify.com/1001/large.png' };
    let progressCalls = 0;
    const onProgress = (): void => {
      progressCalls += 1;
    };

    const inspected = await measure(`${name} inspect`, () => storage.inspect(from, { onProgress }));
    expect(inspected).toEqual(expected);
    expect(progressCalls).toBe(Math.floor((SIZE_MIB * MIB) / (4 * MIB)));

    const copied = await measure(`${name} copy`, () =>
      storage.copy(from, to, { sha256: expected.sha256, content_type: 'image/png' }, { onProgress }),
    );
    expect(copied).toEqual(expected);

    const into = { bucket: 'print-assets', folder: 'shop.myshopify.com/1002' };
    const place = ({ sha256 }: ObjectInspection) => ({ name: `${sha256}.png`, content_type: 'image/png' as const });
    const verified = await measure(`${name} copyVerified`, () => storage.copyVerified(from, into, place, { onProgress }));
    expect(verified.inspection).toEqual(expected);
  }

  async function measure<T>(label: string, operation: () => Promise<T>): Promise<T> {
    const { result, rss, live } = await peakMemoryGrowth(operation);
    measured.push(`${label}: RSS +${(rss / MIB).toFixed(1)} MiB, live heap and buffers +${(live / MIB).toFixed(1)} MiB`);
    expect(rss, `${label}: RSS growth`).toBeLessThan(MEMORY_BUDGET);
    expect(live, `${label}: live memory growth`).toBeLessThan(MEMORY_BUDGET);
    return result;
  }

  it('streams through the local backend in bounded memory', async () => {
    const storage = new LocalStorage({ root: join(base, 'storage'), publicBaseUrl: 'http://localhost', signingSecret: 's' });
    await exercise('local', storage);
  });

  it('streams through the Supabase backend in bounded memory', async () => {
    const storage = new SupabaseStorage({ url: standIn.url, serviceKey: standIn.serviceKey });
    await storage.ensureBucket('previews');
    await storage.ensureBucket('print-assets');
    await standIn.putObject({ bucket: 'previews', path: 'large.png' }, { file }, 'image/png');
    await exercise('supabase', storage);
  });
});

/**
 * Runs `operation` while sampling memory, and says how far above its start it went: the
 * resident set size, and the live JS heap plus buffers, which catches memory held even when
 * the allocator reuses pages an earlier test left resident.
 */
async function peakMemoryGrowth<T>(operation: () => Promise<T>): Promise<{ result: T; rss: number; live: number }> {
  const liveNow = (): number => {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  const start = { rss: process.memoryUsage.rss(), live: liveNow() };
  const peak = { ...start };
  const sample = (): void => {
    peak.rss = Math.max(peak.rss, process.memoryUsage.rss());
    peak.live = Math.max(peak.live, liveNow());
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await operation();
    sample();
    return { result, rss: peak.rss - start.rss, live: peak.live - start.live };
  } finally {
    clearInterval(timer);
  }
}
