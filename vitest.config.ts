import { defineConfig } from 'vitest/config';

const shared = {
  // The Temporal native worker crashes under worker threads once two files load it.
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

const capture = 'test/support/capture-global-setup.ts';
const temporal = 'test/global-setup.ts';

/**
 * Groups that run one after the other (`groupOrder`):
 *
 * 0. `unit`: the unit, API and workflow tests, on the run's Temporal dev server.
 * 1. `faults`: the fault scenarios of `test/faults`, which cause crashes and outages for real.
 *    They spend most of their time waiting for timeouts, so two files run at once, on a dev
 *    server of their own.
 * 2. `burst`: 2,000 lines through the intake and the workflows; alone, since it measures.
 * 3. `bench`: `npm run bench -- --quick --reps=1` as a child process; alone, since it loads the machine.
 * 4. `secrets`: the scan of everything the tests above logged and answered through `buildTestApp`
 *    in their own processes (the bench's processes log to a discarded stdout).
 *
 * `npm test` runs them all; `npm run test:faults` and `npm run test:burst` one group, each
 * followed by the scan of its own captures.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/faults/**', 'test/bench/quick-run.test.ts'],
          globalSetup: [capture, temporal],
        },
      },
      {
        test: {
          ...shared,
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          exclude: ['test/faults/burst.test.ts', 'test/faults/secrets.scan.test.ts'],
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
          include: ['test/faults/burst.test.ts'],
          globalSetup: [capture],
          sequence: { groupOrder: 2 },
          testTimeout: 600_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'bench',
          include: ['test/bench/quick-run.test.ts'],
          sequence: { groupOrder: 3 },
          testTimeout: 600_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'secrets',
          include: ['test/faults/secrets.scan.test.ts'],
          globalSetup: [capture],
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
