import { readFile } from 'node:fs/promises';
import { expect, inject, it } from 'vitest';
import { preloadedModules } from '../support/workflow-bundle.js';

// A plain `preloadModules: ['zod']` is a `require` of zod's CommonJS entry, which webpack drops
// as free of side effects: nothing is preloaded, no error says so, and every workflow evaluates
// zod anew. A CommonJS copy of zod beside the ESM one would likewise go unshared.
it('preloads the shared modules, with zod only as the ESM the workflows import', async () => {
  const code = await readFile(inject('workflowBundlePath'), 'utf8');
  expect(preloadedModules(code)).toEqual(['./src/workflows/shared-modules.ts']);
  const zodModules = new Set(code.match(/"\.\/node_modules\/zod\/[^"]+"/g));
  expect(zodModules.size).toBeGreaterThan(0);
  expect([...zodModules].filter((id) => id.endsWith('.cjs"'))).toEqual([]);
});
