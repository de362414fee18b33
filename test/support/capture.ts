import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The run's capture folder: every log line and response of every app the tests build
 * (`buildTestApp` in `capture-app.ts`), every spawned process's output, and the secrets each test configured.
 * `test/faults/secrets.scan.test.ts` reads it all at the end of the run and fails on any secret
 * found in a log line or a response.
 *
 * Set by `capture-global-setup.ts` in the main vitest process; test files (its children) fall
 * back to the same name derived from their parent's pid.
 */
export const CAPTURE_ENV = 'PRINTREADY_CAPTURE_DIR';

export const captureDir = (): string => process.env[CAPTURE_ENV] ?? path.join(tmpdir(), `printready-capture-${process.ppid}`);

/** Suffix of the files that list secrets, one JSON array per file. */
export const SECRETS_SUFFIX = '.secrets.json';

/** Suffix of the (empty) files that say which vitest projects take part in the run. */
export const PROJECT_SUFFIX = '.project';

let created = false;

/** A new file name in the capture folder, prefixed with the current test file's name. */
export function captureFile(name: string): string {
  const dir = captureDir();
  if (!created) {
    mkdirSync(dir, { recursive: true });
    created = true;
  }
  return path.join(dir, `${currentTestFile()}.${process.pid}.${randomBytes(3).toString('hex')}.${name}`);
}

/** Appends synchronously: a capture must survive the test process ending right after. */
export function appendCapture(file: string, text: string): void {
  appendFileSync(file, text);
}

/** Remembers values that must never show up in any captured log line or response. */
export function registerSecrets(...secrets: (string | undefined | null)[]): void {
  const values = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 8);
  if (values.length > 0) appendCapture(captureFile(`registered${SECRETS_SUFFIX}`), JSON.stringify(values));
}

/** `test/faults/burst.test.ts` → `faults-burst.test`: which test file a capture came from. */
function currentTestFile(): string {
  const testPath = (globalThis as { __vitest_worker__?: { filepath?: string } }).__vitest_worker__?.filepath;
  if (!testPath) return 'unknown';
  const relative = path.relative(path.resolve('test'), testPath);
  return relative.replace(/\.ts$/, '').split(path.sep).join('-');
}
