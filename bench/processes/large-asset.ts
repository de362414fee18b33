import { persistFinalAsset } from '../../src/activities/persist-final-asset.js';
import { warmCopyThreads } from '../../src/storage/local/copy-threads.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { serveChild } from '../lib/child.js';
import { openDatabase, type DatabaseSpec } from '../lib/environment.js';
import { lineInput, nextId, shopFor } from '../lib/ids.js';

/**
 * A fresh process per large-asset run, so its RSS is its own: the activities' functions
 * (persistFinalAsset: verify and copy into the print bucket in one pass, and record) on each file,
 * the files at once.
 * RSS is sampled every 5 ms from just before to just after; `--expose-gc` lets the start be clean.
 */
export interface LargeAssetOptions {
  database: DatabaseSpec;
  storageRoot: string;
  previewBucket: string;
  printBucket: string;
  /** Verified and copied at once (concurrent files), each by its own pair of calls. */
  previewPaths: string[];
}

export interface LargeAssetResult {
  elapsedMs: number;
  /** Bytes copied over all files. */
  sizeBytes: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  /** The kernel's high-water mark for the whole process (includes start-up). */
  maxRssBytes: number;
  finalPaths: string[];
}

serveChild(async (options: LargeAssetOptions) => {
  const db = await openDatabase(options.database, Math.max(2, options.previewPaths.length));
  const storage = new LocalStorage({ root: options.storageRoot, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: 'bench-large-asset' });
  // Load everything the run touches before the first RSS reading, the copy threads a running worker has included.
  await db.selectFrom('final_assets').select('association_key').limit(1).execute();
  await warmCopyThreads();

  return {
    handlers: {
      async run(): Promise<LargeAssetResult> {
        (globalThis as { gc?: () => void }).gc?.();
        const rssBeforeBytes = process.memoryUsage.rss();
        let rssPeakBytes = rssBeforeBytes;
        const sampler = setInterval(() => {
          rssPeakBytes = Math.max(rssPeakBytes, process.memoryUsage.rss());
        }, 5);
        const begin = performance.now();
        const assets = await Promise.all(
          options.previewPaths.map(async (previewPath) => {
            const input = lineInput(shopFor('asset'), nextId(), nextId());
            const preview = {
              job_id: `job-${input.order_line_id}`,
              bucket: options.previewBucket,
              path: previewPath,
              content_type: 'image/png' as const,
            };
            return persistFinalAsset(db, storage, options.printBucket, input, preview, {});
          }),
        );
        const elapsedMs = performance.now() - begin;
        clearInterval(sampler);
        rssPeakBytes = Math.max(rssPeakBytes, process.memoryUsage.rss());
        return {
          elapsedMs,
          sizeBytes: assets.reduce((sum, asset) => sum + asset.size_bytes, 0),
          rssBeforeBytes,
          rssPeakBytes,
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
          finalPaths: assets.map((asset) => asset.path),
        };
      },
    },
    close: () => db.destroy(),
  };
});
