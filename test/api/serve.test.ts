import os from 'node:os';
import { Client } from '@temporalio/client';
import { expect, it } from 'vitest';
import { serveApi } from '../../src/api/serve.js';
import { loadConfig } from '../../src/config/config.js';
import { StartupError } from '../../src/entry/startup-error.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Adapters } from '../../src/adapters.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { NoopTelemetry } from '../../src/telemetry/telemetry.js';
import { freePort } from '../support/ports.js';

it('refuses PORT 0 with local storage and no PUBLIC_URL: its signed URLs would carry port 0', async () => {
  const storage = new LocalStorage({ root: os.tmpdir(), publicBaseUrl: 'http://127.0.0.1:0', signingSecret: 'secret' });
  // Refused before anything else of the services or the client is touched.
  const services = { storage } as unknown as Adapters;
  const logger = createLogger({ level: 'silent', name: 'serve-test' });
  const serving = serveApi(loadConfig({ PORT: '0' }), services, new Client(), logger);
  await expect(serving).rejects.toBeInstanceOf(StartupError);
  await expect(serving).rejects.toThrow(/PUBLIC_URL is not set/);
});

it('names HOST when it does not resolve, instead of blaming what it connects to', async () => {
  const storage = new LocalStorage({ root: os.tmpdir(), publicBaseUrl: 'http://files.test', signingSecret: 'secret' });
  const services = { storage, db: {}, telemetry: new NoopTelemetry() } as unknown as Adapters;
  const logger = createLogger({ level: 'silent', name: 'serve-test' });
  const config = loadConfig({ HOST: 'no-such-host.invalid', PORT: String(await freePort()), PUBLIC_URL: 'http://files.test' });
  const serving = serveApi(config, services, new Client(), logger);
  await expect(serving).rejects.toBeInstanceOf(StartupError);
  await expect(serving).rejects.toThrow(/^HOST no-such-host\.invalid could not be resolved to an address \((ENOTFOUND|EAI_AGAIN)\)/);
});
