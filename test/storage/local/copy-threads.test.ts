import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_THREADS, copyOnThread, copyThreadTuning, runningCopyThreads } from '../../../src/storage/local/copy-threads.js';
import { eventually } from '../../support/eventually.js';
import { sha256 } from '../../support/fixtures.js';

describe('copy threads', () => {
  let dir: string;
  let next = 0;
  const target = () => openSync(join(dir, `copy-${++next}`), 'wx');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'printready-copy-threads-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies more files at once than there are threads, each whole, through the queue', async () => {
    const files = Array.from({ length: 2 * COPY_THREADS + 1 }, (_, index) => {
      const bytes = randomBytes(300_000 + index);
      const path = join(dir, `source-${index}`);
      writeFileSync(path, bytes);
      return { bytes, fd: openSync(path, 'r'), target: target() };
    });
    try {
      const inspections = await Promise.all(files.map((file) => copyOnThread(file.fd, file.target, file.bytes.length)));
      inspections.forEach((inspection, index) => {
        expect(inspection).toMatchObject({
          size_bytes: files[index]?.bytes.length,
          sha256: sha256(files[index]?.bytes ?? Buffer.alloc(0)),
        });
      });
      expect(readFileSync(join(dir, `copy-${next}`))).toEqual(files.at(-1)?.bytes);
    } finally {
      for (const file of files) [file.fd, file.target].forEach((fd) => closeSync(fd));
    }
  });

  it('keeps a queued copy alive with heartbeats, takes it out of the queue when aborted, and stops running copies when aborted', async () => {
    // Every thread busy with a copy that would never end: zeros into nothing, until aborted.
    const zero = openSync('/dev/zero', 'r');
    const nothing = openSync('/dev/null', 'w');
    const holders = Array.from({ length: COPY_THREADS }, () => new AbortController());
    const held = Promise.allSettled(holders.map((holder) => copyOnThread(zero, nothing, 2 ** 40, { signal: holder.signal })));
    try {
      const aborter = new AbortController();
      const beats: number[] = [];
      const queued = copyOnThread(zero, nothing, 4, {
        signal: aborter.signal,
        onProgress: (bytes) => beats.push(bytes),
        progressEveryMs: 20,
      });
      await expect.poll(() => beats.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
      expect(new Set(beats)).toEqual(new Set([0]));
      aborter.abort(new Error('the queued attempt was cancelled'));
      await expect(queued).rejects.toThrow('the queued attempt was cancelled');
    } finally {
      for (const holder of holders) holder.abort(new Error('the long copy was cancelled'));
    }
    for (const copy of await held) expect(copy).toMatchObject({ status: 'rejected', reason: new Error('the long copy was cancelled') });
    // The threads serve the next copies.
    expect(await copyOnThread(zero, target(), 4)).toMatchObject({ size_bytes: 4, sha256: sha256(Buffer.alloc(4)) });
    [zero, nothing].forEach((fd) => closeSync(fd));
  });

  it('stops a copy whose progress listener throws, with what it threw', async () => {
    const path = join(dir, 'large');
    writeFileSync(path, randomBytes(16 * 1024 * 1024));
    const source = openSync(path, 'r');
    try {
      const copying = copyOnThread(source, target(), 16 * 1024 * 1024, {
        onProgress: () => {
          throw new Error('heartbeat refused');
        },
      });
      await expect(copying).rejects.toThrow('heartbeat refused');
    } finally {
      closeSync(source);
    }
  });

  it('ends threads left idle, and starts them again for the next copy', async () => {
    const zero = openSync('/dev/zero', 'r');
    const { idleExitMs } = copyThreadTuning;
    copyThreadTuning.idleExitMs = 200;
    try {
      // As many copies at once as there are threads: each thread is released under the short idle time.
      await Promise.all(Array.from({ length: COPY_THREADS }, () => copyOnThread(zero, target(), 4)));
      expect(runningCopyThreads()).toBe(COPY_THREADS);
      await eventually(() => (runningCopyThreads() === 0 ? true : undefined), 'the idle copy threads ending', 10_000);
      expect(await copyOnThread(zero, target(), 4)).toMatchObject({ size_bytes: 4, sha256: sha256(Buffer.alloc(4)) });
      expect(runningCopyThreads()).toBe(1);
    } finally {
      copyThreadTuning.idleExitMs = idleExitMs;
      closeSync(zero);
    }
  });

  it("rejects a filesystem failure with the system's code, as fs does", async () => {
    const destination = target();
    try {
      await expect(copyOnThread(destination, destination, 10)).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      closeSync(destination);
    }
  });
});
