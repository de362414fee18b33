import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { withHeartbeats } from '../../src/activities/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('withHeartbeats', () => {
  it('heartbeats on a timer while storage is slow, with the bytes read so far, and stops when the step ends', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));

    const result = await env.run(() =>
      withHeartbeats(async (stream) => {
        await sleep(200);
        stream.onProgress?.(4 * 1024 * 1024);
        await sleep(200);
        return 'copied';
      }, 20),
    );
    expect(result).toBe('copied');
    // The timer beat before any progress, and again after the progress report's own beat.
    expect(beats[0]).toEqual({ bytes: 0 });
    expect(beats.filter((beat) => JSON.stringify(beat) === JSON.stringify({ bytes: 4 * 1024 * 1024 })).length).toBeGreaterThanOrEqual(2);
    expect(beats.at(-1)).toEqual({ bytes: 4 * 1024 * 1024 });

    const after = beats.length;
    await sleep(120);
    expect(beats).toHaveLength(after);
  });

  it('hands the stream the activity’s cancellation', async () => {
    const env = new MockActivityEnvironment();
    const run = env.run(() =>
      withHeartbeats(
        (stream) =>
          new Promise<never>((_, reject) => {
            stream.signal?.addEventListener('abort', () => reject(stream.signal?.reason));
          }),
        50,
      ),
    );
    env.cancel();
    await expect(run).rejects.toBeDefined();
  });
});
