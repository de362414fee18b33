import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './lib/context.js';
import { startEnvironment } from './lib/environment.js';
import { renderRows, summarize, type Row } from './lib/report.js';
import { e2eScenario, tuneWorker } from './scenarios/end-to-end.js';
import { intakeScenario } from './scenarios/intake.js';
import { largeAssetScenario } from './scenarios/large-asset.js';
import { signedUrlScenario } from './scenarios/signed-urls.js';

/**
 * `npm run bench`: printready against its own baselines, measured in the same run on the same
 * machine, as ratios. Starts what it needs (Temporal dev server from the installed CLI, the
 * database, local storage), runs each scenario `--reps` times, prints the medians and writes
 * bench/results/latest.json.
 */
const SCENARIOS = {
  intake: intakeScenario,
  e2e: e2eScenario,
  asset: largeAssetScenario,
  urls: signedUrlScenario,
} satisfies Record<string, (ctx: BenchContext) => Promise<Row[]>>;
type ScenarioName = keyof typeof SCENARIOS;

/**
 * The order scenarios run in (the table keeps the order above). The signed-URL load generator
 * runs in this process and receives 1 MiB per answer, so it goes first, while this process's
 * heap is small: after intake its garbage collection cost this process 2–3× more CPU per
 * request, CPU taken from the two cores both sides share.
 */
const RUN_ORDER: readonly ScenarioName[] = ['urls', 'asset', 'intake', 'e2e'];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    reps: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    tune: { type: 'boolean', default: false },
    'e2e-lines': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run bench [-- --only=${Object.keys(SCENARIOS).join(',')}] [--reps=3] [--quick] [--tune] [--e2e-lines=1000] [--out=file.json]`);
  process.exit(0);
}

const selected = (values.only?.split(',').map((name) => name.trim()) ?? Object.keys(SCENARIOS)) as ScenarioName[];
for (const name of selected) if (!(name in SCENARIOS)) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = values.out ?? path.join(here, 'results', values.tune ? 'tune.json' : 'latest.json');
const startedAt = new Date();
const began = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const machine = await describeMachine();
log(`machine: ${machine.cpus}× ${machine.cpu_model}, ${machine.memory_gib} GiB, node ${machine.node}, load ${machine.load_average.join(' ')}`);

const env = await startEnvironment(log);
const where = env.database.kind === 'postgres' ? `${env.database.url}, schemas ${env.database.schemaPrefix}_*` : 'PGlite';
log(`temporal dev server ${env.temporalAddress}; database ${where}`);
const ctx: BenchContext = {
  env,
  reps,
  quick: values.quick,
  log,
  ...(values['e2e-lines'] ? { e2eLines: Number(values['e2e-lines']) } : {}),
};

let exitCode = 0;
const onSignal = () => {
  log('interrupted: cleaning up');
  void env.close().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

try {
  if (values.tune) {
    const report = await tuneWorker(ctx);
    await save({ kind: 'tune', report });
  } else {
    const rowsOf = new Map<ScenarioName, Row[]>();
    for (const name of RUN_ORDER.filter((name) => selected.includes(name))) {
      log(`== ${name}`);
      rowsOf.set(name, await SCENARIOS[name](ctx));
    }
    const summarized = selected.flatMap((name) => rowsOf.get(name) ?? []).map(summarize);
    const durationS = (performance.now() - began) / 1000;
    console.log(`\nprintready benchmarks — medians of ${reps} runs; ratio = printready / baseline (same run, same machine)\n`);
    console.log(renderRows(summarized));
    console.log(`\n${machine.cpus}× ${machine.cpu_model}, ${machine.memory_gib} GiB, node ${machine.node}; database ${env.database.kind}; ${durationS.toFixed(0)} s`);
    await save({ kind: 'bench', reps, duration_s: Math.round(durationS), rows: summarized });
    if (summarized.some((row) => row.met === false)) log('some targets were missed (see "met")');
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await env.close();
}
// stdout may be a pipe (asynchronous): let the table reach it before exiting.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(exitCode);

async function save(result: Record<string, unknown>): Promise<void> {
  await mkdir(path.dirname(outFile), { recursive: true });
  const payload = {
    started_at: startedAt.toISOString(),
    machine,
    database: env.database.kind,
    ...result,
  };
  await writeFile(outFile, `${JSON.stringify(payload, null, 2)}\n`);
  log(`results: ${path.relative(process.cwd(), outFile)}`);
}

async function describeMachine() {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpus: os.availableParallelism(),
    cpu_model: model.trim(),
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    load_average: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
