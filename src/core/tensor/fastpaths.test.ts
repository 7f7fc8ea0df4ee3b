/** The whole-byte packing paths (1 and 4 bits) and the Float32Array path of f32ArrayToF16 equal the generic code. */
import { describe, expect, it } from 'vitest';
import { packLSB } from './pack';
import { F16_TABLE, f32ArrayToF16, f32ToF16 } from './fp16';

/** The generic LSB-first bit stream, value by value. */
function refPack(values: ArrayLike<number>, bits: number, count = values.length): Uint8Array {
  const out = new Uint8Array(Math.ceil((count * bits) / 8));
  const mask = (1 << bits) - 1;
  let bit = 0;
  for (let i = 0; i < count; i++, bit += bits) {
    const v = values[i] & mask;
    out[bit >>> 3] |= (v << (bit & 7)) & 0xff;
    if ((bit & 7) + bits > 8) out[(bit >>> 3) + 1] |= v >>> (8 - (bit & 7));
  }
  return out;
}

describe('fast paths', () => {
  it('packLSB 1-bit and 4-bit equal the generic bit stream for every length 0..40 and a partial count', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (const bits of [1, 4])
      for (let count = 0; count <= 40; count++)
        for (let t = 0; t < 10; t++) {
          const v = Uint8Array.from({ length: count }, rnd);
          expect(packLSB(v, bits)).toEqual(refPack(v, bits));
          const sub = rnd() % (count + 1);
          expect(packLSB(v, bits, sub)).toEqual(refPack(v, bits, sub));
          expect(packLSB(Array.from(v), bits)).toEqual(refPack(v, bits));
        }
  });

  it('f32ArrayToF16 on a Float32Array equals f32ToF16 on every fp16 value and on random float32 bit patterns', () => {
    const all = new Float32Array(65536 + 200000);
    all.set(F16_TABLE);
    const u = new Uint32Array(all.buffer);
    let seed = 99;
    for (let i = 65536; i < all.length; i++) u[i] = seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    // values around fp16's range edges (subnormals, overflow, rounding carries)
    all.set([65504, 65519, 65520, 1e6, 2 ** -14, 2 ** -15, 2 ** -24, 2 ** -25, 2 ** -26, -0, 1 + 2 ** -11, 1 + 3 * 2 ** -11], 65536);
    const fast = f32ArrayToF16(all);
    let bad = 0;
    for (let i = 0; i < all.length; i++) if (fast[i] !== f32ToF16(all[i])) bad++;
    expect(bad).toBe(0);
    const view = new Float32Array(all.buffer, 4, 1000); // a view at an offset
    expect(Array.from(f32ArrayToF16(view))).toEqual(Array.from(view, (x) => f32ToF16(x)));
  });
});
