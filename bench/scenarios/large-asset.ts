import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BenchChild } from '../lib/child.js';
import { newStorageRoot, pidOf, type BenchContext } from '../lib/context.js';
import { metered, reapedChildrenMs, type Cost } from '../lib/cpu.js';
import { writePngWithFiller } from '../../test/support/images.js';
import { runPairs } from '../lib/pairs.js';
import type { CostRow, Row, ScenarioResult } from '../lib/report.js';
import type { LargeAssetOptions, LargeAssetResult } from '../processes/large-asset.js';
import { must } from '../../test/support/must.js';

const run = promisify(execFile);
const LARGE_ASSET_PROCESS = fileURLToPath(new URL('../processes/large-asset.ts', import.meta.url));
const MiB = 1024 * 1024;
const PREVIEWS = 'previews';
const PRINT = 'print-assets';

/**
 * Scenario 3, large asset: verify + copy of large PNGs (real header, filler bytes) through the
 * activities' functions on local storage, in a fresh process per run (its RSS growth is the
 * worker's), against `openssl dgst -sha256`, `cp` and `sync` of each same file (the
 * printready copy fsyncs too). Sizes 64, 256 and 1,024 MiB one at a time; 4 and 16 files of
 * 64 MiB at once (16 of 1 GiB would need 32 GiB of scratch). `sync` runs before every run, so
 * neither side starts with the other's dirty pages; files are in the page cache (warmed).
 */
export async function largeAssetScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const database = await ctx.env.newDatabase('asset');
  const storageRoot = await newStorageRoot(ctx, 'asset');
  await mkdir(path.join(storageRoot, PREVIEWS, 'bench'), { recursive: true });
  await mkdir(path.join(storageRoot, PRINT), { recursive: true });
  const rows: Row[] = [];
  const costs: CostRow[] = [];
  const shapes = ctx.quick
    ? [
        { size: 16 * MiB, files: 1 },
        { size: 4 * MiB, files: 4 },
      ]
    : [
        { size: 64 * MiB, files: 1 },
        { size: 256 * MiB, files: 1 },
        { size: 1024 * MiB, files: 1 },
        { size: 64 * MiB, files: 4 },
        { size: 64 * MiB, files: 16 },
      ];
  for (const { size, files } of shapes) {
    const previewPaths = Array.from({ length: files }, (_, index) => `bench/large-${size / MiB}-${index}.png`);
    const sources = previewPaths.map((previewPath) => path.join(storageRoot, PREVIEWS, previewPath));
    for (const source of sources) await writePngWithFiller(source, size);
    const totalMiB = (size * files) / MiB;
    interface Run {
      mibPerS: number;
      rssGrowthMiB: number;
      cost: Cost;
    }

    const baseline = async (): Promise<Run> => {
      await run('sync');
      const copies = sources.map((_, index) => path.join(ctx.env.workDir, `baseline-copy-${index}.png`));
      const childrenBefore = await reapedChildrenMs();
      const begin = performance.now();
      const { cost } = await metered({}, () =>
        Promise.all(
          sources.map((source, index) =>
            run('sh', [
              '-c',
              'openssl dgst -sha256 "$1" >/dev/null && cp "$1" "$2" && sync "$2"',
              'sh',
              source,
              must(copies[index], 'a copy'),
            ]),
          ),
        ),
      );
      const elapsedS = (performance.now() - begin) / 1000;
      // The tools are this process's children: their CPU is the "worker" of this side.
      cost.cpuMs.worker = (await reapedChildrenMs()) - childrenBefore;
      await Promise.all(copies.map((copy) => rm(copy)));
      return { mibPerS: totalMiB / elapsedS, rssGrowthMiB: 0, cost };
    };
    const printready = async (): Promise<Run> => {
      await run('sync');
      const options: LargeAssetOptions = { database, storageRoot, previewBucket: PREVIEWS, printBucket: PRINT, previewPaths };
      const child = await BenchChild.start(LARGE_ASSET_PROCESS, options, { name: 'large-asset', nodeFlags: ['--expose-gc'] });
      try {
        const { result, cost } = await metered({ worker: pidOf(child) }, () => child.call<LargeAssetResult>('run'));
        if (result.sizeBytes !== size * files) throw new Error(`copied ${result.sizeBytes} bytes, expected ${size * files}`);
        await Promise.all(result.finalPaths.map((finalPath) => rm(path.join(storageRoot, PRINT, finalPath))));
        return { mibPerS: totalMiB / (result.elapsedMs / 1000), rssGrowthMiB: (result.rssPeakBytes - result.rssBeforeBytes) / MiB, cost };
      } finally {
        await child.stop();
      }
    };
    const label = `large asset, ${files} × ${size / MiB} MiB at once (verify + copy)`;
    // Warm the page cache and the code paths once.
    await baseline();
    const pairs = await runPairs(ctx.pairs, baseline, printready, (pair, result) =>
      ctx.log(
        `  ${files} × ${size / MiB} MiB pair ${pair + 1}: printready ${result.printready.mibPerS.toFixed(0)} MiB/s, RSS +${result.printready.rssGrowthMiB.toFixed(1)} MiB; ` +
          `openssl+cp+sync ${result.baseline.mibPerS.toFixed(0)} MiB/s`,
      ),
    );
    for (const source of sources) await rm(source);
    rows.push(
      {
        scenario: label,
        metric: 'MiB/s',
        printready: pairs.printready.map((one) => one.mibPerS),
        baseline: pairs.baseline.map((one) => one.mibPerS),
        target: { kind: 'ratio_at_least', value: 0.8 },
        note: 'baseline: openssl dgst -sha256, cp and sync of each same file',
      },
      {
        scenario: label,
        metric: 'worker RSS growth MiB',
        printready: pairs.printready.map((one) => one.rssGrowthMiB),
        baseline: null,
        target: { kind: 'below', value: 64 },
        note: 'peak RSS during the run minus RSS just before it, fresh process per run',
      },
    );
    for (const side of ['printready', 'baseline'] as const) {
      costs.push({
        scenario: `large asset, ${files} × ${size / MiB} MiB`,
        side,
        unit: 'MiB',
        runs: pairs[side].map((one) => ({ units: totalMiB, cost: one.cost })),
      });
    }
  }
  return { rows, costs };
}
