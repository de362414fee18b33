import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** What the production image runs (Dockerfile, docker-compose.yml); `npm prune --omit=dev` ran before. */
const ENTRY_POINTS = ['src/api/main.ts', 'src/worker/main.ts', 'src/db/migrate-main.ts'];

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * Every module the entry points load, following the imports that remain once TypeScript has
 * erased the types (static, re-exports and `import()` with a literal), as compiled code does.
 */
async function reachable(): Promise<{ files: Set<string>; packages: Map<string, string> }> {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = ENTRY_POINTS.map((file) => path.join(root, file));
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    for (const { fileName: specifier } of ts.preProcessFile(outputText, true, true).importedFiles) {
      if (specifier.startsWith('.')) queue.push(path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        packages.set(packageName(specifier), path.relative(root, file));
      }
    }
  }
  return { files, packages };
}

it('loads no dev dependency and nothing of src/dev or src/demo from a production entry point', async () => {
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const { files, packages } = await reachable();
  expect(files.size).toBeGreaterThan(20);
  const relative = [...files].map((file) => path.relative(root, file));
  expect(relative.filter((file) => /^src\/(dev|demo)\//.test(file))).toEqual([]);
  const notProduction = [...packages].filter(([name]) => !(name in manifest.dependencies)).map(([name, from]) => `${name} (${from})`);
  expect(notProduction).toEqual([]);
  // The packages that just moved to devDependencies, by name, whatever package.json says.
  expect([...packages.keys()].filter((name) => name === 'tsx' || name === '@temporalio/testing')).toEqual([]);
});
