import { describe, expect, it } from 'vitest';
import { AdmissionTimeoutError, StartAdmission } from '../../src/intake/start-admission.js';

/** A start that finishes when the test says so. */
function pending() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { done, finish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('StartAdmission', () => {
  it('lets up to its capacity through at once and the next in arrival order as room frees', async () => {
    const admission = new StartAdmission(5);
    const order: string[] = [];
    const first = pending();
    const second = pending();
    const a = admission.run(3, 1_000, async () => {
      order.push('a');
      await first.done;
    });
    const b = admission.run(2, 1_000, async () => {
      order.push('b');
      await second.done;
    });
    const c = admission.run(4, 1_000, () => Promise.resolve(void order.push('c')));
    // Smaller than c, but behind it: it waits its turn.
    const d = admission.run(1, 1_000, () => Promise.resolve(void order.push('d')));
    await tick();
    expect(order).toEqual(['a', 'b']);
    first.finish();
    await a;
    await tick();
    expect(order).toEqual(['a', 'b']);
    second.finish();
    await Promise.all([b, c, d]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('turns a delivery away after its wait, without running it, and lets the next one in', async () => {
    const admission = new StartAdmission(2);
    const holder = pending();
    const held = admission.run(2, 1_000, () => holder.done);
    let ran = false;
    await expect(
      admission.run(1, 20, () => {
        ran = true;
        return Promise.resolve();
      }),
    ).rejects.toBeInstanceOf(AdmissionTimeoutError);
    expect(ran).toBe(false);
    holder.finish();
    await held;
    await expect(admission.run(2, 20, () => Promise.resolve('ran'))).resolves.toBe('ran');
  });

  it('gives an order larger than the capacity all of it, and frees the room when a start fails', async () => {
    const admission = new StartAdmission(3);
    await expect(admission.run(300, 20, () => Promise.reject(new Error('temporal down')))).rejects.toThrow('temporal down');
    await expect(admission.run(3, 20, () => Promise.resolve('ran'))).resolves.toBe('ran');
  });

  it('lets smaller waiters through when the blocking one at the head gives up', async () => {
    const admission = new StartAdmission(3);
    const holder = pending();
    const held = admission.run(2, 1_000, () => holder.done);
    const big = admission.run(3, 20, () => Promise.resolve('big'));
    const small = admission.run(1, 1_000, () => Promise.resolve('small'));
    await expect(big).rejects.toBeInstanceOf(AdmissionTimeoutError);
    await expect(small).resolves.toBe('small');
    holder.finish();
    await held;
  });
});
