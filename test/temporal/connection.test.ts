import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { StartupError } from '../../src/entry/startup-error.js';
import { temporalConnectionOptions } from '../../src/temporal/connection.js';

const readable = fileURLToPath(import.meta.url);

it('reads the client certificate, key and CA the TLS settings name', async () => {
  const config = loadConfig({
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_CERT_PATH: readable,
    TEMPORAL_TLS_KEY_PATH: readable,
    TEMPORAL_TLS_CA_PATH: readable,
  });
  const options = await temporalConnectionOptions(config, 'temporal.example:7233');
  expect(options.tls?.clientCertPair?.crt.toString()).toContain('reads the client certificate');
  expect(options.tls?.serverRootCACertificate).toBeInstanceOf(Buffer);
});

it.each(['TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_KEY_PATH'] as const)(
  'stops start-up naming %s when its file cannot be read',
  async (name) => {
    const config = loadConfig({
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CERT_PATH: readable,
      TEMPORAL_TLS_KEY_PATH: readable,
      [name]: '/no/such/file.pem',
    });
    const options = temporalConnectionOptions(config, 'temporal.example:7233');
    await expect(options).rejects.toBeInstanceOf(StartupError);
    await expect(options).rejects.toThrow(`${name}: cannot read /no/such/file.pem (ENOENT).`);
  },
);

it('goes over TLS with an API key (Temporal Cloud), and in plain text with nothing set', async () => {
  const cloud = await temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'cloud-key' }), 'ns.a1b2c.tmprl.cloud:7233');
  expect(cloud).toEqual({ address: 'ns.a1b2c.tmprl.cloud:7233', apiKey: 'cloud-key', tls: {} });
  expect(await temporalConnectionOptions(loadConfig({}), '127.0.0.1:7233')).toEqual({ address: '127.0.0.1:7233' });
});
