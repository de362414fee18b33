import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SummarizedRow } from '../../bench/lib/report.js';
import { TEST_DATABASE_URL } from '../support/database.js';

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
 * `npm run bench -- --quick --reps=1`: every scenario of the harness, end to end, on the
 * machine's Temporal CLI and Postgres, at sizes too small for numbers worth reporting. What
 * it proves is that the bench runs from a clone and reports every scenario, not how fast.
 */
describe('npm run bench (quick)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'printready-bench-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs every scenario against its baseline, prints the table, writes the results and cleans up', async () => {
    const out = path.join(dir, 'quick.json');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--reps=1', `--out=${out}`], {
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, BENCH_SCHEMA_PREFIX: SCHEMA_PREFIX },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('| scenario');
    expect(stdout).toContain(`schemas ${SCHEMA_PREFIX}_*`);

    const results = JSON.parse(await readFile(out, 'utf8')) as { kind: string; database: string; rows: SummarizedRow[] };
    expect(results.kind).toBe('bench');
    expect(results.database).toBe('postgres');
    for (const family of ['intake', 'end to end', 'large asset', 'signed URL']) {
      const judged = results.rows.filter((row) => row.scenario.startsWith(family) && row.target !== null);
      expect(judged.length, family).toBeGreaterThan(0);
      for (const row of judged) expect(typeof row.met, `${row.scenario} ${row.metric}`).toBe('boolean');
    }
    for (const row of results.rows) {
      expect(row.printready.every((value) => Number.isFinite(value) && value >= 0), `${row.scenario} ${row.metric}`).toBe(true);
      if (row.target?.kind === 'ratio_at_least') expect(row.baseline_median, `${row.scenario} ${row.metric}`).toBeGreaterThan(0);
    }
    // Every schema it made is dropped again.
    expect(await benchSchemas()).toEqual([]);
  });
});
