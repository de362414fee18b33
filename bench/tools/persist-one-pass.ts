/**
 * Issue 19's "bytes read once", measured: the storage work of one persisted line on the local
 * backend, the two-pass way (inspect, then copy, which reads the preview again) against the one
 * pass (copyVerified), alternating, on one preview of `--mib` MiB (256 by default). Prints CPU
 * (user + system, the whole process: the thread pool's reads and fsyncs included) and wall time
 * per call. `npx tsx bench/tools/persist-one-pass.ts --mib=256 --reps=5`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { ObjectInspection } from '../../src/storage/object-storage.js';
import { writePngWithFiller } from '../../test/support/images.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, reps: { type: 'string', default: '5' } } });
const root = await mkdtemp(join(tmpdir(), 'printready-one-pass-'));
const storage = new LocalStorage({ root, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: 'bench-one-pass' });
await storage.ensureBucket('previews');
await storage.ensureBucket('print-assets');
await writePngWithFiller(join(root, 'previews', 'preview.png'), Number(values.mib) * 1024 * 1024);
const preview = { bucket: 'previews', path: 'preview.png' };

const nameOf = (inspection: ObjectInspection) => ({ name: `${inspection.sha256}.png`, content_type: 'image/png' as const });

const ways = {
  async 'two passes (inspect, copy)'(folder: string) {
    await storage.stat(preview);
    const inspection = await storage.inspect(preview);
    const { name, content_type } = nameOf(inspection);
    await storage.copy(preview, { bucket: 'print-assets', path: `${folder}/${name}` }, { sha256: inspection.sha256, content_type });
  },
  async 'one pass (copyVerified)'(folder: string) {
    await storage.stat(preview);
    await storage.copyVerified(preview, { bucket: 'print-assets', folder }, nameOf);
  },
};

const results = new Map<string, { cpuMs: number[]; wallMs: number[] }>(Object.keys(ways).map((way) => [way, { cpuMs: [], wallMs: [] }]));
const reps = Number(values.reps);
// A warm-up of each, then ABBA order so that neither side always runs first.
for (let rep = -1; rep < reps; rep++) {
  const order = Object.entries(ways);
  if (rep % 2 === 1) order.reverse();
  for (const [way, run] of order) {
    const folder = `run-${rep + 1}-${way.split(' ')[0]}`;
    const cpu = process.cpuUsage();
    const begin = performance.now();
    await run(folder);
    const wallMs = performance.now() - begin;
    const { user, system } = process.cpuUsage(cpu);
    await rm(join(root, 'print-assets', folder), { recursive: true });
    if (rep < 0) continue;
    const result = results.get(way);
    result?.cpuMs.push((user + system) / 1000);
    result?.wallMs.push(wallMs);
  }
}
await rm(root, { recursive: true });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const list = (values: number[]) => values.map((value) => value.toFixed(0)).join(', ');
console.log(`${values.mib} MiB preview, ${reps} repetitions each, alternating`);
for (const [way, { cpuMs, wallMs }] of results) {
  console.log(
    `${way}: CPU median ${median(cpuMs).toFixed(0)} ms [${list(cpuMs)}], wall median ${median(wallMs).toFixed(0)} ms [${list(wallMs)}]`,
  );
}
