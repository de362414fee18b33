import { defineConfig } from 'vitest/config';

const shared = {
  // The Temporal native worker crashes under worker threads once two files load it.
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

/** Every project whose tests build apps or start processes writes their output here for `secrets`. */
const capture = 'test/support/capture-global-setup.ts';
/** The run's Temporal dev server and workflow bundle (`inject('temporalAddress')`). */
const temporal = 'test/global-setup.ts';

/** Folders of tests that need no server: no Temporal, no Postgres. Any other folder is `integration`. */
const unitFolders = ['bench', 'config', 'intake', 'lib', 'logging', 'shopify-admin', 'storage', 'telemetry'];
const unit = unitFolders.map((folder) => `test/${folder}/**/*.test.ts`);

/** Scenarios that need a machine to themselves, each run alone in its own group. */
const burst = 'test/faults/burst.test.ts';
const benchRun = 'test/bench/quick-run.test.ts';
const secretsScan = 'test/faults/secrets.scan.test.ts';

/**
 * Where a test goes (`npx vitest run --project <name>`), in the order the groups run:
 *
 * - `unit`: the folders above, tests of code on its own (stand-ins for HTTP services allowed).
 * - `integration`: every other folder: tests against the run's Temporal dev server and the
 *   Postgres at `DATABASE_URL` (API routes, activities, workflows, repositories, the built
 *   entry points, the docs page in Chromium). Runs beside `unit`.
 * - `faults` (`test/faults`): crashes and outages caused for real. They spend most of their time
 *   waiting for timeouts, so two files run at once, on a dev server of their own.
 * - `burst`: 2,000 lines through the intake and the workflows; alone, since it loads the machine.
 * - `bench`: `npm run bench -- --quick --reps=1` as a child process; alone, for the same reason.
 * - `secrets`: the scan of everything the groups above logged and answered through
 *   `buildTestApp` and their child processes (the bench's processes log to a discarded stdout).
 *
 * `npm test` runs them all; `npm run test:unit`, `test:integration`, `test:faults` and
 * `test:burst` one group, the last three followed by the scan of their own captures.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: { ...shared, name: 'unit', include: unit, exclude: [benchRun], globalSetup: [capture] },
      },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...unit, 'test/faults/**'],
          globalSetup: [capture, temporal],
        },
      },
      {
        test: {
          ...shared,
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          exclude: [burst, secretsScan],
          globalSetup: [capture, temporal],
          sequence: { groupOrder: 1 },
          maxWorkers: 2,
          testTimeout: 180_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'burst',
          include: [burst],
          globalSetup: [capture],
          sequence: { groupOrder: 2 },
          testTimeout: 600_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'bench',
          include: [benchRun],
          sequence: { groupOrder: 3 },
          testTimeout: 600_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'secrets',
          include: [secretsScan],
          globalSetup: [capture],
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
