import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { Spawned } from '../support/child-processes.js';
import { expected } from '../storage/storage-assertions.js';
import { makePng, sha256 } from '../support/fixtures.js';

/**
 * A worker killed (SIGKILL) after the local backend published a copy and before it removed the
 * copy's temporary file leaves both. The retry finds the object already there: it must still
 * leave the print folder holding the object alone, under one name.
 */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'printready-copy-crash-'));
  await mkdir(path.join(root, 'previews'), { recursive: true });
  await mkdir(path.join(root, 'print-assets'), { recursive: true });
});
afterAll(() => rm(root, { recursive: true, force: true }));

it.each(['copy', 'copyVerified'] as const)(
  '%s leaves nothing behind when killed between publishing and removing its temporary',
  async (method) => {
    const png = makePng(64, 64);
    const sha = sha256(png);
    await writeFile(path.join(root, 'previews', `preview-${method}.png`), png);
    const folderKey = `shop/${method}`;
    const destination = `${folderKey}/${sha}.png`;
    const folder = path.join(root, 'print-assets', 'shop', method);

    const copying = new Spawned({
      name: 'copy-then-hang',
      command: process.execPath,
      args: ['--import', 'tsx', 'test/faults/children/copy-then-hang.ts', root, `preview-${method}.png`, destination, sha, method],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    await copying.waitForOutput(/published, temporary not yet removed/, 60_000);
    await copying.kill();
    const left = await readdir(folder);
    const named = left.map((name) => (name.startsWith('.partial-') ? '.partial-*' : name)).sort();
    expect(named, 'killed exactly there: the object and its temporary').toEqual(['.partial-*', `${sha}.png`]);

    const storage = new LocalStorage({ root, publicBaseUrl: 'http://127.0.0.1:9', signingSecret: 'unused-in-this-test' });
    const from = { bucket: 'previews', path: `preview-${method}.png` };
    const retried =
      method === 'copy'
        ? await storage.copy(from, { bucket: 'print-assets', path: destination }, expected(png))
        : (
            await storage.copyVerified(from, { bucket: 'print-assets', folder: folderKey }, ({ sha256: hash }) => ({
              name: `${hash}.png`,
              content_type: 'image/png',
            }))
          ).inspection;
    expect(retried.sha256).toBe(sha);
    expect(await readdir(folder)).toEqual([`${sha}.png`]);
    expect((await stat(path.join(folder, `${sha}.png`))).nlink).toBe(1);
  },
);
