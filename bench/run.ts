import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './lib/context.js';
import { startEnvironment } from './lib/environment.js';
import { renderCosts, renderRows, summarize, summarizeCost, type ScenarioResult } from './lib/report.js';
import { drainScenario, e2eScenario } from './scenarios/end-to-end.js';
import { intakeScenario } from './scenarios/intake.js';
import { largeAssetScenario } from './scenarios/large-asset.js';
import { signedUrlScenario } from './scenarios/signed-urls.js';

/**
 * `npm run bench`: what printready costs (CPU ms per unit of each component, peak RSS) and how
 * it compares with its baselines, in pairs run in the same process tree on the same machine.
 * Starts what it needs (Temporal dev server from the installed CLI, the database, local
 * storage), prints the cost table, the paired ratios with their intervals and the targets, and
 * writes bench/results/latest.json. `--quick`: fixed small loads, one pair (a cost smoke test).
 */
const SCENARIOS = {
  intake: intakeScenario,
  e2e: e2eScenario,
  asset: largeAssetScenario,
  urls: signedUrlScenario,
  drain: drainScenario,
} satisfies Record<string, (ctx: BenchContext) => Promise<ScenarioResult>>;
type ScenarioName = keyof typeof SCENARIOS;

/**
 * The order scenarios run in (the table keeps the order above). The signed-URL load generator
 * runs in this process and receives 1 MiB per answer, so it goes first, while this process's
 * heap is small: after intake its garbage collection cost this process 2–3× more CPU per
 * request, CPU taken from the two cores both sides share.
 */
const RUN_ORDER: readonly ScenarioName[] = ['urls', 'asset', 'intake', 'e2e', 'drain'];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    pairs: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    'e2e-lines': { type: 'string' },
    'drain-lines': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    `npm run bench [-- --only=${Object.keys(SCENARIOS).join(',')}] [--pairs=5] [--quick] [--e2e-lines=1000] [--drain-lines=10000] [--out=file.json]`,
  );
  process.exit(0);
}

const selected = (values.only?.split(',').map((name) => name.trim()) ?? Object.keys(SCENARIOS)) as ScenarioName[];
for (const name of selected)
  if (!(name in SCENARIOS)) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
const pairs = values.quick ? 1 : Number(values.pairs);
if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs must be a positive integer');

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = values.out ?? path.join(here, 'results', 'latest.json');
const startedAt = new Date();
const began = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const machine = await describeMachine();
log(
  `machine: ${machine.cpus}× ${machine.cpu_model}, ${machine.memory_gib} GiB, node ${machine.node}, load ${machine.load_average.join(' ')}`,
);

const env = await startEnvironment(log);
const where = env.database.kind === 'postgres' ? `${env.database.url}, schemas ${env.database.schemaPrefix}_*` : 'PGlite';
log(`temporal dev server ${env.temporalAddress}; database ${where}`);
const ctx: BenchContext = {
  env,
  pairs,
  quick: values.quick,
  log,
  ...(values['e2e-lines'] ? { e2eLines: Number(values['e2e-lines']) } : {}),
  ...(values['drain-lines'] ? { drainLines: Number(values['drain-lines']) } : {}),
};

let exitCode = 0;
const onSignal = () => {
  log('interrupted: cleaning up');
  void env.close().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

try {
  const results = new Map<ScenarioName, ScenarioResult>();
  for (const name of RUN_ORDER.filter((name) => selected.includes(name))) {
    log(`== ${name}`);
    // One scenario failing leaves the others' results standing (and the run's exit code 1).
    try {
      results.set(name, await SCENARIOS[name](ctx));
    } catch (error) {
      console.error(`${name} failed:`, error);
      exitCode = 1;
    }
  }
  const inOrder = selected.flatMap((name) => results.get(name) ?? []);
  const rows = inOrder.flatMap((result) => result.rows).map(summarize);
  const costs = inOrder.flatMap((result) => result.costs).map(summarizeCost);
  const durationS = (performance.now() - began) / 1000;
  console.log(
    `\nCost: CPU ms per unit of each component (medians over the runs; total = api + worker + temporal + postgres, load generator apart)\n`,
  );
  console.log(renderCosts(costs));
  console.log(
    `\nPaired comparisons: ${pairs} pair${pairs > 1 ? 's' : ''} (baseline and printready back to back, order alternating); ratio = median of the pairs' printready / baseline, bootstrap 95 % interval\n`,
  );
  console.log(renderRows(rows));
  console.log(
    `\n${machine.cpus}× ${machine.cpu_model}, ${machine.memory_gib} GiB, node ${machine.node}; database ${env.database.kind}; ${durationS.toFixed(0)} s`,
  );
  await save({ kind: 'bench', quick: values.quick, pairs, duration_s: Math.round(durationS), costs, rows });
  if (rows.some((row) => row.met === false)) log('some targets were missed (see "met")');
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
