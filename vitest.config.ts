import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The Temporal native worker crashes under worker threads once two files load it.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
