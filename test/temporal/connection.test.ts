import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { StartupError } from '../../src/entry/startup-error.js';
import { temporalConnectionOptions } from '../../src/temporal/connection.js';

const readable = fileURLToPath(import.meta.url);

it('reads the client certificate, key and CA the TLS settings name', async () => {
  const config = loadConfig({ TEMPORAL_TLS_CERT_PATH: readable, TEMPORAL_TLS_KEY_PATH: readable, TEMPORAL_TLS_CA_PATH: readable });
  const options = await temporalConnectionOptions(config, 'temporal.example:7233');
  expect(options.tls?.clientCertPair?.crt.toString()).toContain('reads the client certificate');
  expect(options.tls?.serverRootCACertificate).toBeInstanceOf(Buffer);
});

it.each(['TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_KEY_PATH'] as const)('stops start-up naming %s when its file cannot be read', async (name) => {
  const config = loadConfig({ TEMPORAL_TLS_CERT_PATH: readable, TEMPORAL_TLS_KEY_PATH: readable, [name]: '/no/such/file.pem' });
  const options = temporalConnectionOptions(config, 'temporal.example:7233');
  await expect(options).rejects.toBeInstanceOf(StartupError);
  await expect(options).rejects.toThrow(`${name}: cannot read /no/such/file.pem (ENOENT).`);
});
