import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { createAdapters, publicBaseUrl } from '../../src/adapters.js';
import { createStorage } from '../../src/storage/create-storage.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-services-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

it('gives the production entry points the local buckets they copy into, on a fresh data folder', async () => {
  const config = loadConfig({ DATA_DIR: dataDir, PREVIEW_BUCKET: 'incoming', PRINT_BUCKET: 'for-print' });
  const adapters = await createAdapters(config, createLogger({ level: 'silent', name: 'services-test' }));
  try {
    expect(adapters.storage.kind).toBe('local');
    for (const bucket of ['incoming', 'for-print']) {
      expect((await stat(path.join(dataDir, 'storage', bucket))).isDirectory()).toBe(true);
    }
  } finally {
    await adapters.close();
  }
});

it('signs local URLs under PUBLIC_URL, else under HOST and PORT (an IPv6 host in brackets)', () => {
  expect(publicBaseUrl(loadConfig({ PUBLIC_URL: 'https://files.example.com' }))).toBe('https://files.example.com');
  expect(publicBaseUrl(loadConfig({}))).toBe('http://127.0.0.1:3000');
  expect(publicBaseUrl(loadConfig({ HOST: '::1', PORT: '8080' }))).toBe('http://[::1]:8080');
});

it('uses Supabase Storage when SUPABASE_URL is set, and the local backend otherwise', async () => {
  const config = loadConfig({
    DATA_DIR: dataDir,
    SUPABASE_URL: 'https://project.supabase.co',
    SUPABASE_SERVICE_ROLE_KEY: 'service-role-key',
  });
  expect((await createStorage(config, 'http://127.0.0.1:3000')).kind).toBe('supabase');
  expect((await createStorage(loadConfig({ DATA_DIR: dataDir }), 'http://127.0.0.1:3000')).kind).toBe('local');
});
