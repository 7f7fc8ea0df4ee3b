/**
 * The bulk loops of fp16.ts and pack.ts run in pieces of CHUNK elements (pieces.ts). These check runs longer
 * than several pieces, at every alignment of the arrays, against plain one-element-at-a-time loops.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK } from './pieces';
import { F16_TABLE, f16ArrayToF32, f32ArrayToF16, f32ToF16 } from './fp16';
import { packLSB, packedBytes, unpackLSB } from './pack';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A view of n elements of type T at `off` elements into a larger buffer (odd byte offsets for Uint8Array). */
function at<T extends Uint8Array | Uint16Array | Float32Array>(C: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, n: number, off: number): T {
  return new C(new ArrayBuffer((n + off + 8) * C.BYTES_PER_ELEMENT), off * C.BYTES_PER_ELEMENT, n);
}

/** The number of positions where two arrays differ (their lengths must agree). */
function diff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

const LENGTHS = [3 * CHUNK + 37, 2 * CHUNK + 1];

describe('fp16 bulk conversions in pieces', () => {
  it('f16ArrayToF32 and f32ArrayToF16 equal the per-element conversions over several pieces at any offset', () => {
    const r = rng(1);
    for (const n of LENGTHS)
      for (const off of [0, 1, 3]) {
        const bits = at(Uint16Array, n, off);
        for (let i = 0; i < n; i++) bits[i] = Math.floor(r() * 65536);
        const f = f16ArrayToF32(bits);
        let bad = 0;
        for (let i = 0; i < n; i++) if (!Object.is(f[i], F16_TABLE[bits[i]])) bad++;
        expect(bad).toBe(0);
        const fl = at(Float32Array, n, off);
        for (let i = 0; i < n; i++) fl[i] = r() < 0.5 ? F16_TABLE[bits[i]] : (r() - 0.5) * 70000;
        const h = f32ArrayToF16(fl);
        const hp = f32ArrayToF16(Array.from(fl)); // the ArrayLike path
        for (let i = 0; i < n; i++) {
          const want = f32ToF16(fl[i]);
          if (h[i] !== want || hp[i] !== want) bad++;
        }
        expect(bad).toBe(0);
      }
  });
});

describe('packLSB / unpackLSB in pieces', () => {
  it('equal the plain bit-stream loops for 1..8 bits over several pieces, at every byte offset and as plain arrays', () => {
    const r = rng(2);
    for (const n of [3 * CHUNK + 37])
      for (const bits of [1, 3, 4, 8])
        for (const off of [0, 1, 2]) {
          const v = at(Uint8Array, n, off);
          for (let i = 0; i < n; i++) v[i] = Math.floor(r() * 256); // high bits must be ignored
          // the definition: value i at bits [i · bits, (i + 1) · bits) of the LSB-first stream
          const want = new Uint8Array(packedBytes(n, bits));
          for (let i = 0, bit = 0; i < n; i++)
            for (let b = 0; b < bits; b++, bit++) if ((v[i] >>> b) & 1) want[bit >>> 3] |= 1 << (bit & 7);
          expect(diff(packLSB(v, bits), want)).toBe(0);
          if (off === 0) expect(diff(packLSB(Array.from(v), bits), want)).toBe(0);
          const out = at(Uint8Array, n, off);
          const back = unpackLSB(want, bits, n, out);
          let bad = 0;
          for (let i = 0; i < n; i++) if (back[i] !== (v[i] & ((1 << bits) - 1))) bad++;
          expect(bad).toBe(0);
        }
  });
});
