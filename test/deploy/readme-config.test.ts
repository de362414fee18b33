import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { configSchema, loadConfig } from '../../src/config/config.js';
import { must } from '../support/must.js';

/** The README's configuration table, as `variable → default column`. */
async function readmeTable(): Promise<Map<string, string>> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.split('<!-- config-table:start -->')[1]?.split('<!-- config-table:end -->')[0] ?? '';
  // Prettier pads the cells to align the columns.
  const rows = table.split('\n').filter((line) => /^\| `[A-Z_]+` +\|/.test(line));
  return new Map(
    rows.map((row) => {
      const [, name, fallback] = row.split('|').map((cell) => cell.trim());
      return [must(name, 'a variable').replaceAll('`', ''), must(fallback, `the default of ${name}`)];
    }),
  );
}

it('documents exactly the variables the config schema reads', async () => {
  expect([...(await readmeTable()).keys()].sort()).toEqual(Object.keys(configSchema.shape).sort());
});

it('shows the schema’s defaults', async () => {
  const defaults = loadConfig({});
  for (const [name, documented] of await readmeTable()) {
    const actual = defaults[name as keyof typeof defaults];
    const shown = Array.isArray(actual) || actual === undefined ? undefined : `\`${String(actual)}\``;
    if (shown) expect(documented, name).toBe(shown);
    else expect(documented, name).toMatch(/^—/);
  }
});
