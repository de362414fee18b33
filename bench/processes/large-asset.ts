import { verifyPreview } from '../../src/activities/verify-preview.js';
import { persistFinalAsset } from '../../src/activities/persist-final-asset.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { serveChild } from '../lib/child.js';
import { openDatabase, type DatabaseSpec } from '../lib/environment.js';
import { lineInput, nextId, shopFor } from '../lib/ids.js';

/**
 * A fresh process per large-asset run, so its RSS is its own: the activities' functions
 * (verifyPreview, then persistFinalAsset: copy into the print bucket and record) on one file.
 * RSS is sampled every 5 ms from just before to just after; `--expose-gc` lets the start be clean.
 */
export interface LargeAssetOptions {
  database: DatabaseSpec;
  storageRoot: string;
  previewBucket: string;
  printBucket: string;
  previewPath: string;
}

export interface LargeAssetResult {
  elapsedMs: number;
  verifyMs: number;
  sizeBytes: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  /** The kernel's high-water mark for the whole process (includes start-up). */
  maxRssBytes: number;
  finalPath: string;
}

serveChild<LargeAssetOptions>(async (options) => {
  const db = await openDatabase(options.database, 2);
  const storage = new LocalStorage({ root: options.storageRoot, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: 'bench-large-asset' });
  // Load everything the run touches before the first RSS reading.
  await db.selectFrom('final_assets').select('association_key').limit(1).execute();

  return {
    handlers: {
      async run(): Promise<LargeAssetResult> {
        const input = lineInput(shopFor('asset'), nextId(), nextId());
        const preview = { job_id: `job-${input.order_line_id}`, bucket: options.previewBucket, path: options.previewPath, content_type: 'image/png' as const };
        (globalThis as { gc?: () => void }).gc?.();
        const rssBeforeBytes = process.memoryUsage.rss();
        let rssPeakBytes = rssBeforeBytes;
        const sampler = setInterval(() => {
          rssPeakBytes = Math.max(rssPeakBytes, process.memoryUsage.rss());
        }, 5);
        const begin = performance.now();
        const verified = await verifyPreview(storage, preview, {});
        const verifyMs = performance.now() - begin;
        const asset = await persistFinalAsset(db, storage, options.printBucket, input, verified, {});
        const elapsedMs = performance.now() - begin;
        clearInterval(sampler);
        rssPeakBytes = Math.max(rssPeakBytes, process.memoryUsage.rss());
        return {
          elapsedMs,
          verifyMs,
          sizeBytes: asset.size_bytes,
          rssBeforeBytes,
          rssPeakBytes,
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
          finalPath: asset.path,
        };
      },
    },
    close: () => db.destroy(),
  };
});
