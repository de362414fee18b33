import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { connectDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { resolveTemporalCli } from '../../src/temporal/cli.js';
import { bundleWorkflows } from '../../src/worker/bundle-workflows.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';

/** Where a bench process finds its database: a schema of the real Postgres, or a PGlite folder of its own. */
export type DatabaseSpec = { kind: 'postgres'; url: string; schema: string } | { kind: 'pglite'; dir: string };

/** The tests' default: the Postgres a developer or CI runs anyway. */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Every schema a run makes starts with this (`BENCH_SCHEMA_PREFIX`: lower-case letters, digits and _). */
const SCHEMA_PREFIX = process.env.BENCH_SCHEMA_PREFIX ?? 'bench';
if (!/^[a-z][a-z0-9_]*$/.test(SCHEMA_PREFIX))
  throw new Error(`BENCH_SCHEMA_PREFIX must be lower-case letters, digits and _, not ${SCHEMA_PREFIX}`);

const NOOP_WORKFLOWS = fileURLToPath(new URL('../workflows/noop-workflows.ts', import.meta.url));

export interface BenchEnvironment {
  temporalAddress: string;
  /** `postgres` (which URL) or `pglite`. */
  database: { kind: 'postgres'; url: string; schemaPrefix: string } | { kind: 'pglite' };
  /** A fresh, migrated database for one scenario (a schema, or for PGlite a folder its one process migrates). */
  newDatabase(name: string): Promise<DatabaseSpec>;
  /** The FulfillOrderLine bundle (as `npm run build` makes it) and the bench's no-op one. */
  bundles: { fulfillment: string; noop: string };
  /** A temporary folder under os.tmpdir(), removed at the end. */
  workDir: string;
  close(): Promise<void>;
}

/** Starts what the benchmarks need: a Temporal dev server from the installed CLI, the database, the bundles. */
export async function startEnvironment(log: (line: string) => void): Promise<BenchEnvironment> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'printready-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(workDir, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('bench cleanup:', error));
  };
  try {
    const executable = resolveTemporalCli(process.env.TEMPORAL_CLI_PATH);
    log(`temporal CLI: ${executable.type === 'existing-path' ? executable.path : 'SDK download'}`);
    const [temporal, fulfillment, noop, databaseUrl] = await Promise.all([
      startTemporal(),
      bundleWorkflows(path.join(workDir, 'fulfillment-bundle.js')),
      bundleNoop(path.join(workDir, 'noop-bundle.js')),
      pickDatabase(),
    ]);
    cleanups.push(() => temporal.teardown());
    const schemas: string[] = [];
    if (databaseUrl) {
      cleanups.push(async () => {
        const admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        try {
          for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
        } finally {
          await admin.end();
        }
      });
    }
    return {
      temporalAddress: temporal.address,
      database: databaseUrl ? { kind: 'postgres', url: databaseUrl, schemaPrefix: SCHEMA_PREFIX } : { kind: 'pglite' },
      bundles: { fulfillment, noop },
      workDir,
      async newDatabase(name) {
        if (!databaseUrl) {
          const dir = path.join(workDir, `pglite-${name}-${randomBytes(3).toString('hex')}`);
          await mkdir(dir, { recursive: true });
          return { kind: 'pglite', dir };
        }
        const schema = `${SCHEMA_PREFIX}_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
        schemas.push(schema);
        const admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        await admin.query(`create schema ${schema}`);
        await admin.end();
        const db = await connectDatabase({ databaseUrl, dataDir: '', schema, poolSize: 1 });
        try {
          await migrateToLatest(db);
        } finally {
          await db.destroy();
        }
        return { kind: 'postgres', url: databaseUrl, schema };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A Temporal dev server of its own (in-memory store, the product's search attributes) from the installed CLI. */
export function startTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH),
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTES,
      // Overloaded on purpose by some runs: its errors (deadlines) are counted by the bench, not printed.
      log: { format: 'pretty', level: process.env.BENCH_VERBOSE ? 'warn' : 'never' },
    },
  });
}

/** `DATABASE_URL`; else the tests' local Postgres when it answers; else PGlite. */
async function pickDatabase(): Promise<string | undefined> {
  const configured = process.env.DATABASE_URL;
  if (configured) return configured;
  const client = new pg.Client({ connectionString: DEFAULT_DATABASE_URL, connectionTimeoutMillis: 1_500 });
  try {
    await client.connect();
    await client.query('select 1');
    return DEFAULT_DATABASE_URL;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function bundleNoop(outputPath: string): Promise<string> {
  const ignore = () => undefined;
  const logger = { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: console.warn, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath: NOOP_WORKFLOWS, logger });
  await writeFile(outputPath, code);
  return outputPath;
}

/** Opens a database spec in this process (migrating a PGlite folder on first use). */
export async function openDatabase(spec: DatabaseSpec, poolSize?: number) {
  if (spec.kind === 'postgres') {
    return connectDatabase({ databaseUrl: spec.url, dataDir: '', schema: spec.schema, ...(poolSize ? { poolSize } : {}) });
  }
  const db = await connectDatabase({ dataDir: spec.dir });
  await migrateToLatest(db);
  return db;
}
