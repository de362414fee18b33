import { readFile } from 'node:fs/promises';
import { expect, inject, it } from 'vitest';

// A plain `preloadModules: ['zod']` is a `require` of zod's CommonJS entry, which webpack drops
// as free of side effects: nothing is preloaded, no error says so, and every workflow evaluates
// zod anew. Two copies of zod (ESM and CommonJS) would also leave the workflows' copy unshared.
it('preloads, once per workflow thread, the one copy of zod the workflows use', async () => {
  const code = await readFile(inject('workflowBundlePath'), 'utf8');
  const zodModules = new Set(code.match(/"\.\/node_modules\/zod\/[^"]+"/g));
  expect(zodModules.size).toBeGreaterThan(0);
  expect([...zodModules].filter((id) => id.endsWith('.cjs"'))).toEqual([]);
  expect(code).toMatch(/exports\.preloadModules = function preloadModules\(\) \{\s*__webpack_require__\([^;]*"\.\/src\/workflows\/shared-modules\.ts"\);\s*\}/);
});
