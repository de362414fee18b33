import { readFile } from 'node:fs/promises';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config/config.js';
import { briefly, StartupError } from '../entry/startup-error.js';
import { errorCode } from '../lib/error-code.js';

/** What both the client's `Connection` and the worker's `NativeConnection` accept. */
export interface TemporalConnectionOptions {
  address: string;
  apiKey?: string;
  tls?: TLSConfig;
}

/** Address, API key and TLS for a self-hosted cluster or Temporal Cloud, shared by client and worker. */
export async function temporalConnectionOptions(config: Config, address: string): Promise<TemporalConnectionOptions> {
  const tlsWanted = config.TEMPORAL_TLS || Boolean(config.TEMPORAL_API_KEY) || Boolean(config.TEMPORAL_TLS_CERT_PATH);
  const { TEMPORAL_TLS_CERT_PATH: certPath, TEMPORAL_TLS_KEY_PATH: keyPath, TEMPORAL_TLS_CA_PATH: caPath } = config;
  const clientCertPair =
    certPath && keyPath
      ? { crt: await readSetting('TEMPORAL_TLS_CERT_PATH', certPath), key: await readSetting('TEMPORAL_TLS_KEY_PATH', keyPath) }
      : undefined;
  const serverRootCACertificate = caPath ? await readSetting('TEMPORAL_TLS_CA_PATH', caPath) : undefined;
  return {
    address,
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
    ...(tlsWanted
      ? { tls: { ...(clientCertPair ? { clientCertPair } : {}), ...(serverRootCACertificate ? { serverRootCACertificate } : {}) } }
      : {}),
  };
}

/** A file a setting names; one that cannot be read stops start-up, naming the setting. */
async function readSetting(
  name: 'TEMPORAL_TLS_CERT_PATH' | 'TEMPORAL_TLS_KEY_PATH' | 'TEMPORAL_TLS_CA_PATH',
  file: string,
): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new StartupError(`${name}: cannot read ${file} (${errorCode(error) ?? briefly(error)}).`);
  }
}
