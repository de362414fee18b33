import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SummarizedCost, SummarizedRow } from '../../bench/lib/report.js';
import { TEST_DATABASE_URL } from '../support/database.js';
import { must } from '../support/must.js';

const run = promisify(execFile);

/** This run's schemas: named apart from any other bench using the same database meanwhile. */
const SCHEMA_PREFIX = `benchtest_${randomBytes(4).toString('hex')}`;

async function benchSchemas(): Promise<string[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>('select nspname as name from pg_namespace where starts_with(nspname, $1)', [
      `${SCHEMA_PREFIX}_`,
    ]);
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

/**
 * `npm run bench -- --quick`: every scenario of the harness, end to end, on the machine's
 * Temporal CLI and Postgres, at fixed small loads, one pair. What it proves is that the bench
 * runs from a clone and reports what each component cost per unit in every scenario, and
 * judges every target, not how fast.
 */
describe('npm run bench (quick)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'printready-bench-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs every scenario against its baseline, prints the cost and ratio tables, writes the results and cleans up', async () => {
    const out = path.join(dir, 'quick.json');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', `--out=${out}`], {
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, BENCH_SCHEMA_PREFIX: SCHEMA_PREFIX },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('| scenario');
    expect(stdout).toContain('CPU ms per');
    expect(stdout).toContain(`schemas ${SCHEMA_PREFIX}_*`);

    const results = JSON.parse(await readFile(out, 'utf8')) as {
      kind: string;
      database: string;
      rows: SummarizedRow[];
      costs: SummarizedCost[];
    };
    expect(results.kind).toBe('bench');
    expect(results.database).toBe('postgres');
    for (const family of ['intake', 'end to end', 'large asset', 'signed URL', 'persisted line', 'backlog drain']) {
      const judged = results.rows.filter((row) => row.scenario.startsWith(family) && row.target !== null);
      expect(judged.length, family).toBeGreaterThan(0);
      for (const row of judged) expect(typeof row.met, `${row.scenario} ${row.metric}`).toBe('boolean');
    }
    for (const row of results.rows) {
      expect(
        row.printready.every((value) => Number.isFinite(value) && value >= 0),
        `${row.scenario} ${row.metric}`,
      ).toBe(true);
      if (row.target?.kind === 'ratio_at_least') expect(row.baseline_median, `${row.scenario} ${row.metric}`).toBeGreaterThan(0);
    }
    // Each scenario's cost names what each component spent per unit; the servers under test spent some.
    for (const family of ['intake', 'end to end', 'large asset', 'signed URL', 'backlog drain']) {
      const costs = results.costs.filter((cost) => cost.scenario.startsWith(family));
      expect(costs.length, family).toBeGreaterThan(0);
      for (const cost of costs) {
        expect(cost.cpu_ms_per_unit.total, `${cost.scenario} ${cost.side}`).toBeGreaterThan(0);
        expect(typeof cost.cpu_ms_per_unit.load, `${cost.scenario} ${cost.side}`).toBe('number');
      }
    }
    const e2e = must(
      results.costs.find((cost) => cost.scenario.startsWith('end to end') && cost.side === 'printready'),
      'the end-to-end cost',
    );
    for (const component of ['api', 'worker', 'temporal', 'postgres']) expect(e2e.cpu_ms_per_unit[component], component).toBeGreaterThan(0);
    for (const component of ['api', 'worker', 'temporal', 'postgres']) expect(e2e.peak_rss_mib[component], component).toBeGreaterThan(0);
    // Every schema it made is dropped again.
    expect(await benchSchemas()).toEqual([]);
  });
});
