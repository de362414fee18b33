import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BenchChild } from '../lib/child.js';
import { newStorageRoot, type BenchContext } from '../lib/context.js';
import { writePngWithFiller } from '../lib/images.js';
import type { Row } from '../lib/report.js';
import type { LargeAssetOptions, LargeAssetResult } from '../processes/large-asset.js';

const run = promisify(execFile);
const LARGE_ASSET_PROCESS = fileURLToPath(new URL('../processes/large-asset.ts', import.meta.url));
const MiB = 1024 * 1024;
const PREVIEWS = 'previews';
const PRINT = 'print-assets';

/**
 * Scenario 3, large asset: verify + copy of a 256 MiB PNG (real header, filler bytes) through
 * the activities' functions on local storage, in a fresh process per run (MB/s and RSS growth),
 * against `sha256sum` + `cp` of the same file. A 64 MiB file shows RSS does not follow size.
 * Each run starts with the file in the page cache and nothing dirty (`sync` between runs).
 */
export async function largeAssetScenario(ctx: BenchContext): Promise<Row[]> {
  const database = await ctx.env.newDatabase('asset');
  const storageRoot = await newStorageRoot(ctx, 'asset');
  await mkdir(path.join(storageRoot, PREVIEWS, 'bench'), { recursive: true });
  await mkdir(path.join(storageRoot, PRINT), { recursive: true });
  const rows: Row[] = [];
  const sizes = ctx.quick ? [16 * MiB, 4 * MiB] : [256 * MiB, 64 * MiB];
  const [large, small] = sizes as [number, number];
  for (const size of sizes) {
    const previewPath = `bench/large-${size / MiB}.png`;
    const file = path.join(storageRoot, PREVIEWS, previewPath);
    await writePngWithFiller(file, size);
    const copyTarget = path.join(ctx.env.workDir, 'baseline-copy.png');
    const printready: LargeAssetResult[] = [];
    const baseline: number[] = [];
    const settle = () => run('sync');
    // Warm the page cache and the code paths once.
    await run('sha256sum', [file]);
    for (let rep = 0; rep < ctx.reps; rep++) {
      await settle();
      const begin = performance.now();
      await run('sha256sum', [file]);
      await run('cp', [file, copyTarget]);
      baseline.push(performance.now() - begin);
      await rm(copyTarget);
      await settle();

      const options: LargeAssetOptions = { database, storageRoot, previewBucket: PREVIEWS, printBucket: PRINT, previewPath };
      const child = await BenchChild.start(LARGE_ASSET_PROCESS, options, { name: 'large-asset', nodeFlags: ['--expose-gc'] });
      try {
        const result = await child.call<LargeAssetResult>('run');
        if (result.sizeBytes !== size) throw new Error(`copied ${result.sizeBytes} bytes, expected ${size}`);
        printready.push(result);
        await rm(path.join(storageRoot, PRINT, result.finalPath));
      } finally {
        await child.stop();
      }
      const last = printready.at(-1)!;
      ctx.log(
        `  ${size / MiB} MiB rep ${rep + 1}: printready ${(size / MiB / (last.elapsedMs / 1000)).toFixed(0)} MiB/s ` +
          `(verify ${last.verifyMs.toFixed(0)} ms, total ${last.elapsedMs.toFixed(0)} ms), RSS +${((last.rssPeakBytes - last.rssBeforeBytes) / MiB).toFixed(1)} MiB; ` +
          `sha256sum+cp ${(size / MiB / (baseline.at(-1)! / 1000)).toFixed(0)} MiB/s`,
      );
    }
    await rm(file);
    const label = `large asset ${size / MiB} MiB (verify + copy)`;
    if (size === large) {
      rows.push({
        scenario: label,
        metric: 'MiB/s',
        printready: printready.map((result) => size / MiB / (result.elapsedMs / 1000)),
        baseline: baseline.map((ms) => size / MiB / (ms / 1000)),
        target: { kind: 'ratio_at_least', value: 0.5 },
        note: 'baseline: sha256sum then cp of the same file (child processes)',
      });
    } else if (size === small) {
      rows.push({
        scenario: label,
        metric: 'MiB/s',
        printready: printready.map((result) => size / MiB / (result.elapsedMs / 1000)),
        baseline: baseline.map((ms) => size / MiB / (ms / 1000)),
        target: null,
      });
    }
    rows.push({
      scenario: label,
      metric: 'RSS growth MiB',
      printready: printready.map((result) => (result.rssPeakBytes - result.rssBeforeBytes) / MiB),
      baseline: null,
      target: { kind: 'below', value: 64 },
      note: 'peak RSS during the run minus RSS just before it, fresh process per run',
    });
  }
  return rows;
}
