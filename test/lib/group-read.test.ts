import { describe, expect, it } from 'vitest';
import { groupRead } from '../../src/lib/group-read.js';
import { must } from '../support/must.js';

/** A read whose calls are seen, and finished by hand: it answers each key doubled. */
function heldRead() {
  const calls: { keys: readonly number[]; finish: (error?: Error) => void }[] = [];
  const read = (keys: readonly number[]) =>
    new Promise<number[]>((resolve, reject) => {
      calls.push({ keys, finish: (error) => (error ? reject(error) : resolve(keys.map((key) => key * 2))) });
    });
  const finish = (index: number, error?: Error) => {
    must(calls[index], `read call ${index}`).finish(error);
  };
  return { calls, read, finish };
}

describe('groupRead', () => {
  it('reads a lone caller at once', async () => {
    const { calls, read, finish } = heldRead();
    const get = groupRead(read);
    const value = get(3);
    expect(calls.map((call) => call.keys)).toEqual([[3]]);
    finish(0);
    await expect(value).resolves.toBe(6);
  });

  it('carries every key asked for during a read in one next read, each caller getting its own value', async () => {
    const { calls, read, finish } = heldRead();
    const get = groupRead(read);
    const first = get(1);
    const later = [get(2), get(3), get(4)];
    expect(calls).toHaveLength(1);
    finish(0);
    await first;
    expect(calls.map((call) => call.keys)).toEqual([[1], [2, 3, 4]]);
    finish(1);
    await expect(Promise.all(later)).resolves.toEqual([4, 6, 8]);
  });

  it('fails every caller of a failed read, and reads the next ones', async () => {
    const { read, finish } = heldRead();
    const get = groupRead(read);
    const first = get(1);
    const carried = [get(2), get(3)];
    finish(0);
    await first;
    finish(1, new Error('database away'));
    for (const value of carried) await expect(value).rejects.toThrow('database away');
    const after = get(5);
    finish(2);
    await expect(after).resolves.toBe(10);
  });

  it('fails the callers of a read that answers a value short', async () => {
    const get = groupRead((keys: readonly number[]) => Promise.resolve(keys.slice(1)));
    await expect(get(1)).rejects.toThrow('answered 0 values for 1 keys');
  });

  it('reads what piled up in batches of at most 256 keys', async () => {
    const { calls, read, finish } = heldRead();
    const get = groupRead(read);
    const values = Array.from({ length: 301 }, (_, key) => get(key));
    finish(0);
    await values[0];
    finish(1);
    await values[256];
    finish(2);
    await expect(Promise.all(values)).resolves.toEqual(Array.from({ length: 301 }, (_, key) => key * 2));
    expect(calls.map((call) => call.keys.length)).toEqual([1, 256, 44]);
  });
});
