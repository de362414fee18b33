import { fsyncSync, readSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { errorCode } from '../../lib/error-code.js';
import { ByteInspector } from '../inspect/inspect-stream.js';
import type { CopyJob, FromCopyThread } from './copy-threads.js';

/**
 * A copy thread (see `copy-threads.ts`): copies a job's bytes from one open file into another,
 * inspecting them on the way, with blocking calls that block only this thread, and fsyncs the copy.
 */

/**
 * A piece small enough to stay in the core's cache from its read through its hash to its
 * write: 1 MiB pieces cost 2.5× the CPU per MiB of 256 KiB ones with 16 copies at once.
 */
const PIECE_BYTES = 256 * 1024;
const piece = Buffer.allocUnsafe(PIECE_BYTES);

if (!parentPort) throw new Error('copy-thread runs as a worker thread');
const port = parentPort;
port.on('message', (job: CopyJob) => {
  port.postMessage(copy(job));
});

function copy(job: CopyJob): FromCopyThread {
  try {
    const inspector = new ByteInspector(
      job.progress
        ? {
            onProgress: (bytes) => {
              port.postMessage({ kind: 'progress', bytes } satisfies FromCopyThread);
            },
            ...(job.progressEveryMs === undefined ? {} : { progressEveryMs: job.progressEveryMs }),
          }
        : {},
    );
    // The bytes fstat counted, or those left if the file shrank meanwhile.
    for (let position = 0; position < job.size;) {
      if (Atomics.load(job.stop, 0) !== 0) return { kind: 'stopped' };
      const read = readSync(job.sourceFd, piece, 0, Math.min(PIECE_BYTES, job.size - position), position);
      if (read === 0) break;
      const bytes = piece.subarray(0, read);
      inspector.update(bytes);
      for (let written = 0; written < read;) written += writeSync(job.targetFd, bytes, written, read - written, position + written);
      position += read;
    }
    fsyncSync(job.targetFd);
    return { kind: 'done', inspection: inspector.finish() };
  } catch (error) {
    return { kind: 'failed', message: error instanceof Error ? error.message : String(error), code: errorCode(error) };
  }
}
