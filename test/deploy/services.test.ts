import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { createServices } from '../../src/services.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'printready-services-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

it('gives the production entry points the local buckets they copy into, on a fresh data folder', async () => {
  const config = loadConfig({ DATA_DIR: dataDir, PREVIEW_BUCKET: 'incoming', PRINT_BUCKET: 'for-print' });
  const services = await createServices(config, createLogger({ level: 'silent', name: 'services-test' }));
  try {
    expect(services.storage.kind).toBe('local');
    for (const bucket of ['incoming', 'for-print']) {
      expect((await stat(path.join(dataDir, 'storage', bucket))).isDirectory()).toBe(true);
    }
  } finally {
    await services.close();
  }
});
