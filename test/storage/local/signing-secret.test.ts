import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { localSigningSecret } from '../../../src/storage/local/signing-secret.js';
import { runScript } from '../../support/child-processes.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-secret-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('takes the configured secret as it is', async () => {
  expect(await localSigningSecret(dataDir, 'configured')).toBe('configured');
});

it('generates one secret, kept across restarts', async () => {
  const first = await localSigningSecret(path.join(dataDir, 'nested'), undefined);
  expect(first).toMatch(/^[\w-]{43}$/);
  expect(await localSigningSecret(path.join(dataDir, 'nested'), undefined)).toBe(first);
});

it('gives every process starting at once on a fresh folder the same, complete secret', async () => {
  const module = JSON.stringify(path.resolve('src/storage/local/signing-secret.ts'));
  for (let round = 0; round < 2; round += 1) {
    const script = `import { localSigningSecret } from ${module};
      const secrets = await Promise.all(Array.from({ length: 20 }, () => localSigningSecret(${JSON.stringify(path.join(dataDir, `round-${round}`))}, undefined)));
      process.stdout.write(JSON.stringify(secrets));`;
    const outputs = await Promise.all(Array.from({ length: 3 }, () => runScript(script)));
    const secrets = outputs.flatMap((output) => JSON.parse(output.stdout) as string[]);
    expect(new Set(secrets).size, `round ${round}: ${[...new Set(secrets)].join(' | ')}`).toBe(1);
    expect(secrets[0]).toMatch(/^[\w-]{43}$/);
  }
});

it('waits for a file another process has created but not yet written', async () => {
  const file = path.join(dataDir, 'signing-secret');
  await writeFile(file, '');
  const reading = localSigningSecret(dataDir, undefined);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writeFile(file, 'written-by-the-other-process');
  expect(await reading).toBe('written-by-the-other-process');
});

it('refuses an empty secret file instead of signing with nothing', async () => {
  await writeFile(path.join(dataDir, 'signing-secret'), '\n');
  await expect(localSigningSecret(dataDir, undefined)).rejects.toThrow(/signing-secret is empty/);
});
