import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { CAPTURE_ENV, PROJECT_SUFFIX } from './capture.js';

/**
 * The run's capture folder (see `capture.ts`), one per vitest process, removed at the end. Set
 * in the environment before any test process starts, so all of them (every project) share it.
 * Each project that runs leaves its name there, so the scan knows whose captures to expect.
 */
export default async function setup(project: TestProject) {
  const dir = process.env[CAPTURE_ENV] ?? path.join(tmpdir(), `printready-capture-${process.pid}`);
  process.env[CAPTURE_ENV] = dir;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${project.name}${PROJECT_SUFFIX}`), '');
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
