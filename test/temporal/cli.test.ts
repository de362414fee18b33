import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StartupError } from '../../src/entry/startup-error.js';
import { resolveTemporalCli } from '../../src/temporal/cli.js';

let bin: string;
let executable: string;
let plainFile: string;

beforeAll(async () => {
  bin = await mkdtemp(path.join(os.tmpdir(), 'printready-cli-'));
  executable = path.join(bin, 'temporal');
  plainFile = path.join(bin, 'notes.txt');
  await writeFile(executable, '#!/bin/sh\n');
  await chmod(executable, 0o755);
  await writeFile(plainFile, 'not a program');
  await chmod(plainFile, 0o644);
});
afterAll(async () => {
  await rm(bin, { recursive: true, force: true });
});

it('takes a configured executable path, or a name looked up on PATH', () => {
  expect(resolveTemporalCli(executable, '')).toEqual({ type: 'existing-path', path: executable });
  expect(resolveTemporalCli('temporal', `/nowhere${path.delimiter}${bin}`)).toEqual({ type: 'existing-path', path: executable });
});

it('finds temporal on PATH unless configured, else falls back to the SDK download', () => {
  expect(resolveTemporalCli(undefined, bin)).toEqual({ type: 'existing-path', path: executable });
  expect(resolveTemporalCli(undefined, '/nowhere')).toEqual({ type: 'cached-download' });
});

it.each([
  ['a missing file', () => path.join(bin, 'missing'), 'is not an executable file'],
  ['a file that is not executable', () => plainFile, 'is not an executable file'],
  ['a directory', () => `${bin}${path.sep}`, 'is not an executable file'],
  ['a name not on PATH', () => 'no-such-temporal', 'no executable no-such-temporal on PATH'],
])('stops start-up on %s, naming TEMPORAL_CLI_PATH', (_case, configured, message) => {
  expect(() => resolveTemporalCli(configured(), bin)).toThrow(StartupError);
  expect(() => resolveTemporalCli(configured(), bin)).toThrow(new RegExp(`^TEMPORAL_CLI_PATH: .*${message}`));
});
