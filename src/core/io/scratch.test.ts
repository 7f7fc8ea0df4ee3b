import { describe, expect, it } from 'vitest';
import { SCRATCH_MIN_BYTES, ScratchPool, scratchInt8, scratchZeroedU8, withScratch } from './scratch';

const MB = 1 << 20;

describe('ScratchPool', () => {
  it('lends a buffer again only once its owner gave it back, the smallest that fits', () => {
    const pool = new ScratchPool();
    pool.lendTo('a');
    const a1 = pool.take(4 * MB);
    const a2 = pool.take(2 * MB);
    expect(a1.buffer).not.toBe(a2.buffer);
    pool.lendTo('b');
    const b1 = pool.take(MB); // a's buffers are still lent: a new one
    expect([a1.buffer, a2.buffer]).not.toContain(b1.buffer);
    pool.release('a');
    pool.lendTo('c');
    const c1 = pool.take(MB + 1); // 2 MB is the smallest free buffer that holds it
    expect(c1.buffer).toBe(a2.buffer);
    expect(c1.length).toBe(MB + 1);
    expect(c1.byteOffset).toBe(0);
    const c2 = pool.take(3 * MB);
    expect(c2.buffer).toBe(a1.buffer);
  });

  it('lets go of the free buffers when none fits (no small ones kept beside a bigger new one)', () => {
    const pool = new ScratchPool();
    pool.lendTo('a');
    const a = pool.take(MB);
    pool.release('a');
    pool.lendTo('b');
    const b = pool.take(2 * MB);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release('b');
    pool.lendTo('c');
    expect(pool.take(MB).buffer).toBe(b.buffer);
    expect(pool.take(MB).buffer).not.toBe(a.buffer); // a's 1 MB buffer was dropped: this one is new
    pool.release('c');
    pool.prepare(8 * MB); // nothing holds 8 MB: every free buffer goes
    pool.lendTo('d');
    expect([a.buffer, b.buffer]).not.toContain(pool.take(MB).buffer);
  });

  it('gives back an owner’s lendings in order (oldest first, or the newest when asked)', () => {
    const pool = new ScratchPool();
    pool.lendTo('w');
    const first = pool.take(MB);
    pool.lendTo('w');
    const second = pool.take(2 * MB);
    pool.release('w');
    pool.lendTo('x');
    expect(pool.take(MB).buffer).toBe(first.buffer); // the second lending is still out
    pool.lendTo('y');
    expect(pool.take(MB).buffer).not.toBe(second.buffer);
    pool.release('y', true);
    pool.release('w');
    pool.lendTo('z');
    expect(pool.take(2 * MB).buffer).toBe(second.buffer);
  });
});

describe('scratchInt8', () => {
  it('allocates plainly outside withScratch and for small arrays, from the pool inside', () => {
    const pool = new ScratchPool();
    pool.lendTo('w');
    const big = pool.take(2 * MB);
    big.fill(7);
    pool.release('w');
    expect(scratchInt8(2 * MB).buffer).not.toBe(big.buffer);
    const got = withScratch(pool, () => [scratchInt8(SCRATCH_MIN_BYTES - 1), scratchInt8(MB + 5)]);
    expect(got[0].buffer).not.toBe(big.buffer);
    expect(got[0][0]).toBe(0);
    expect(got[1].buffer).toBe(big.buffer);
    expect(got[1].length).toBe(MB + 5);
    expect(got[1][0]).toBe(7); // old contents: the caller writes every element
    expect(scratchInt8(2 * MB).buffer).not.toBe(big.buffer); // the scope ended
  });
});

describe('scratchZeroedU8', () => {
  it('is zeroed like a new array even when it reuses a dirty pooled buffer', () => {
    const pool = new ScratchPool();
    pool.lendTo('w');
    const dirty = pool.take(2 * MB).fill(0xff);
    pool.release('w');
    pool.lendTo('v');
    const z = withScratch(pool, () => scratchZeroedU8(MB + 3));
    expect(z.buffer).toBe(dirty.buffer);
    expect(z.length).toBe(MB + 3);
    expect(z.every((x) => x === 0)).toBe(true);
    expect(dirty[MB + 3]).toBe(0xff); // only its own bytes are cleared
  });
});
