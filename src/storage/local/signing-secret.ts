import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StartupError } from '../../entry/startup-error.js';
import { errorCode } from '../../lib/error-code.js';

/** How long a process that finds the secret file empty waits for another process's write. */
const EMPTY_FILE_WAIT_MS = 1_000;

/**
 * The local backend's URL-signing secret: the configured one, else one generated once and kept
 * in the data folder, so URLs survive a restart and the API and worker processes agree.
 */
export async function localSigningSecret(dataDir: string, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const file = path.resolve(dataDir, 'signing-secret');
  const existing = await readSecret(file);
  if (existing !== undefined) return existing;
  await mkdir(path.dirname(file), { recursive: true });
  // 'wx' fails if another process wrote it first; then that one's secret is the secret.
  await writeFile(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' }).catch((error: unknown) => {
    if (errorCode(error) !== 'EEXIST') throw error;
  });
  const secret = await readSecret(file);
  if (secret === undefined) throw new StartupError(`${file} was removed while printready was creating it; start again.`);
  return secret;
}

/**
 * The secret kept in `file`, or undefined when there is no file. 'wx' creates the file before
 * writing to it, so a process starting beside the writer may find it empty for a moment.
 */
async function readSecret(file: string): Promise<string | undefined> {
  const deadline = Date.now() + EMPTY_FILE_WAIT_MS;
  for (;;) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    const secret = text.trim();
    if (secret) return secret;
    if (Date.now() >= deadline) {
      throw new StartupError(
        `${file} is empty: delete it to have a new secret made (URLs signed before stop working), or set LOCAL_SIGNING_SECRET.`,
      );
    }
    await sleep(25);
  }
}
