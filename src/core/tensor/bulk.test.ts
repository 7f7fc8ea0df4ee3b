/** The word-at-a-time paths on long arrays and at offsets: packLSB 1-bit and f32ArrayToF16. */
import { describe, expect, it } from 'vitest';
import { packLSB, unpackLSB } from './pack';
import { F16_TABLE, f32ArrayToF16, f32ToF16 } from './fp16';

function lcg(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
}

describe('bulk paths', () => {
  it('packLSB 1-bit of long byte arrays (any byte values, aligned and not) equals bit-by-bit packing', () => {
    const r = lcg(17);
    const buf = Uint8Array.from({ length: 4099 }, () => (r() >>> 24) & (r() & 1 ? 1 : 0xff));
    for (const off of [0, 1, 2, 3, 4])
      for (const count of [4094, 4095, 4064, 33]) {
        const v = buf.subarray(off, off + count);
        const ref = new Uint8Array(Math.ceil(count / 8));
        for (let i = 0; i < count; i++) ref[i >> 3] |= (v[i] & 1) << (i & 7);
        expect(packLSB(v, 1)).toEqual(ref);
        // a shorter count than the array
        const c2 = count - 7;
        const ref2 = new Uint8Array(Math.ceil(c2 / 8));
        for (let i = 0; i < c2; i++) ref2[i >> 3] |= (v[i] & 1) << (i & 7);
        expect(packLSB(v, 1, c2)).toEqual(ref2);
      }
  });

  it('packLSB 4-bit of long byte arrays (any byte values, aligned and not) equals nibble-by-nibble packing', () => {
    const r = lcg(23);
    const buf = Uint8Array.from({ length: 4101 }, () => r() >>> 24);
    for (const off of [0, 1, 2, 3, 4])
      for (const count of [4096, 4095, 4089, 17, 8, 7]) {
        const v = buf.subarray(off, off + count);
        for (const c of [count, count - 3]) {
          const ref = new Uint8Array(Math.ceil(c / 2));
          for (let i = 0; i < c; i++) ref[i >> 1] |= (v[i] & 15) << ((i & 1) * 4);
          expect(packLSB(v, 4, c)).toEqual(ref);
        }
      }
  });

  it('unpackLSB 1-bit of long streams equals bit-by-bit unpacking, into aligned and unaligned outputs', () => {
    const r = lcg(5);
    const bytes = Uint8Array.from({ length: 520 }, () => r() >>> 24);
    for (const count of [4160, 4159, 4153, 9, 1]) {
      const ref = Uint8Array.from({ length: count }, (_, i) => (bytes[i >> 3] >> (i & 7)) & 1);
      expect(unpackLSB(bytes, 1, count)).toEqual(ref);
      const buf = new Uint8Array(count + 3);
      expect(unpackLSB(bytes, 1, count, buf.subarray(3))).toEqual(ref);
      expect(unpackLSB(bytes, 1, count, buf.subarray(0, count))).toEqual(ref);
    }
  });

  it('f32ArrayToF16 equals f32ToF16 on every fp16 value negated and scaled by powers of two, and near ties', () => {
    const vals: number[] = [];
    for (let h = 0; h < 65536; h++) for (const k of [1, -0.5, 2, 2 ** -10, 2 ** 10]) vals.push(F16_TABLE[h] * k);
    // halfway and just-off-halfway float32 values between neighbouring fp16 normals and subnormals
    for (let h = 1; h < 0x7bff; h += 37) {
      const a = F16_TABLE[h];
      const b = F16_TABLE[h + 1];
      const mid = Math.fround((a + b) / 2);
      vals.push(mid, -mid, Math.fround(mid * (1 + 2 ** -20)), Math.fround(mid * (1 - 2 ** -20)));
    }
    const f = Float32Array.from(vals);
    const got = f32ArrayToF16(f);
    let bad = 0;
    for (let i = 0; i < f.length; i++) if (got[i] !== f32ToF16(f[i])) bad++;
    expect(bad).toBe(0);
    // NaN keeps a NaN pattern, infinities stay infinite
    const special = f32ArrayToF16(Float32Array.from([NaN, Infinity, -Infinity, 65520, -65504]));
    expect(special[0] & 0x7c00).toBe(0x7c00);
    expect(special[0] & 0x3ff).not.toBe(0);
    expect(Array.from(special.subarray(1))).toEqual([0x7c00, 0xfc00, 0x7c00, 0xfbff]);
  });
});
