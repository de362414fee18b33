import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/lib/group-commit.js';
import { must } from '../support/must.js';

/** A write whose calls are seen, and finished by hand. */
function heldWrite() {
  const calls: { items: number[]; finish: (error?: Error) => void }[] = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ items, finish: (error) => (error ? reject(error) : resolve()) });
    });
  /** Finishes the `index`th call, failing it with `error` if given. */
  const finish = (index: number, error?: Error) => {
    must(calls[index], `write call ${index}`).finish(error);
  };
  return { calls, write, finish };
}

describe('groupCommit', () => {
  it('writes a lone caller at once', async () => {
    const { calls, write, finish } = heldWrite();
    const commit = groupCommit(write);
    const done = commit([1, 2]);
    expect(calls.map((call) => call.items)).toEqual([[1, 2]]);
    finish(0);
    await expect(done).resolves.toBe(true);
  });

  it('carries everything that arrives during a write in one next write', async () => {
    const { calls, write, finish } = heldWrite();
    const commit = groupCommit(write);
    const first = commit([1]);
    const later = [commit([2]), commit([3, 4]), commit([5])];
    expect(calls).toHaveLength(1);
    finish(0);
    await first;
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3, 4, 5]]);
    finish(1);
    await expect(Promise.all(later)).resolves.toEqual([true, true, true]);
  });

  it('fails only the callers of the write that failed, and goes on with the next', async () => {
    const { calls, write, finish } = heldWrite();
    const commit = groupCommit(write);
    const first = commit([1]);
    const second = [commit([2]), commit([3])];
    const failure = new Error('database gone');
    finish(0, failure);
    await expect(first).rejects.toBe(failure);
    const third = commit([4]);
    finish(1);
    await expect(Promise.all(second)).resolves.toEqual([true, true]);
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3], [4]]);
    finish(2);
    await expect(third).resolves.toBe(true);
  });

  it('survives a write that throws before returning a promise', async () => {
    let fail = true;
    const commit = groupCommit<number>((items) => {
      if (fail) throw new Error(`refused ${items.length}`);
      return Promise.resolve();
    });
    await expect(commit([1])).rejects.toThrow('refused 1');
    fail = false;
    await expect(commit([2])).resolves.toBe(true);
  });

  it('drops a caller that gives up before its write begins, and writes the one that gives up after', async () => {
    const { calls, write, finish } = heldWrite();
    const commit = groupCommit(write);
    const first = new AbortController();
    const running = commit([1], first.signal);
    const patient = commit([2]);
    const impatient = new AbortController();
    const dropped = commit([3], impatient.signal);
    impatient.abort();
    await expect(dropped).resolves.toBe(false);
    first.abort();
    finish(0);
    await expect(running).resolves.toBe(true);
    expect(calls.map((call) => call.items)).toEqual([[1], [2]]);
    finish(1);
    await expect(patient).resolves.toBe(true);
    const already = new AbortController();
    already.abort();
    await expect(commit([4], already.signal)).resolves.toBe(false);
    expect(calls).toHaveLength(2);
  });
});
