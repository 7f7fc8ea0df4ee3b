import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { f16ArrayToF32 } from '../src/core/tensor/fp16';
import { countDistinct, countDistinctF16, weightStats, weightStatsF16 } from './stats';

describe('weightStats', () => {
  it('computes min, max, mean, population std, zeros and a histogram that sums to the count', () => {
    const v = new Float32Array([0, -0, 1, 2, 3, 3, -1, 0.5]);
    const s = weightStats(v, 8);
    expect(s.count).toBe(8);
    expect(s.min).toBe(-1);
    expect(s.max).toBe(3);
    const mean = (0 + 0 + 1 + 2 + 3 + 3 - 1 + 0.5) / 8;
    expect(s.mean).toBeCloseTo(mean, 12);
    const varp = [0, 0, 1, 2, 3, 3, -1, 0.5].reduce((a, x) => a + (x - mean) ** 2, 0) / 8;
    expect(s.std).toBeCloseTo(Math.sqrt(varp), 12);
    expect(s.zeros).toBe(2);
    expect(s.sparsity).toBe(0.25);
    expect(s.unique).toBe(6); // 0 and -0 once
    expect(s.hist.reduce((a, b) => a + b, 0)).toBe(8);
    expect(s.hist[0]).toBe(1); // -1 alone in the first bin
    expect(s.hist[7]).toBe(2); // both 3s in the last
  });

  it('handles empty and constant tensors', () => {
    expect(weightStats(new Float32Array(0)).count).toBe(0);
    const c = weightStats(new Float32Array([2, 2, 2]), 4);
    expect(c.std).toBe(0);
    expect(c.unique).toBe(1);
    expect(c.hist[0]).toBe(3);
  });

  it('countDistinct leaves its input untouched', () => {
    const v = new Float32Array([3, 1, 2, 1]);
    expect(countDistinct(v)).toBe(3);
    expect([...v]).toEqual([3, 1, 2, 1]);
  });

  it('countDistinctF16 on the bits equals countDistinct on the widened values', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 400 }), (raw) => {
        const bits = Uint16Array.from(raw);
        expect(countDistinctF16(bits)).toBe(countDistinct(f16ArrayToF32(bits)));
      }),
      { numRuns: 300 },
    );
    expect(countDistinctF16(Uint16Array.from([0x0000, 0x8000, 0x3c00, 0x7e00, 0x7c00, 0xfc00]))).toBe(4); // ±0 once, NaN ignored, ±inf
  });
});

describe('weightStatsF16', () => {
  /** the reference: the float path on the widened values */
  const ref = (bits: Uint16Array, bins: number) => weightStats(f16ArrayToF32(bits), bins, countDistinctF16(bits));
  const close = (a: number, b: number) => {
    if (Number.isNaN(b)) expect(a).toBeNaN();
    else if (!Number.isFinite(b)) expect(a).toBe(b);
    else expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));
  };

  it('equals the float path on random patterns (every value class, odd offsets): exact counts, mean/std to float64 rounding', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0x2000, max: 0x2400 }), fc.constantFrom(0, 0x8000, 0x7c00, 0xfc00, 0x7e00)), { maxLength: 300 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 70 }),
        (raw, odd, bins) => {
          // a view at an odd 16-bit offset exercises the unaligned head of the paired loop
          const buf = new Uint16Array(raw.length + 1);
          buf.set(raw, odd ? 1 : 0);
          const bits = buf.subarray(odd ? 1 : 0, (odd ? 1 : 0) + raw.length);
          const a = weightStatsF16(bits, bins);
          const b = ref(bits, bins);
          // x + 0 turns -0 into 0: which zero the float path reports as min / max depends on element order
          const norm = (t: typeof a) => ({ ...t, mean: 0, std: 0, min: t.min + 0, max: t.max + 0, histMin: t.histMin + 0, histMax: t.histMax + 0 });
          expect(norm(a)).toEqual(norm(b));
          close(a.mean, b.mean);
          close(a.std, b.std);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a large gaussian-like tensor: same histogram and extremes, mean and std within 1e-12 relative', () => {
    const n = (1 << 18) + 3; // several pieces of the paired loop, and an odd tail
    const bits = new Uint16Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bits[i] = 0x2000 + (s % 0x1000) + (s & 0x80000000 ? 0x8000 : 0);
    }
    bits[7] = 0;
    bits[9] = 0x8000;
    const a = weightStatsF16(bits, 64);
    const b = ref(bits, 64);
    // the same data at an odd 16-bit offset (the unaligned head)
    const shifted = new Uint16Array(n + 1);
    shifted.set(bits, 1);
    expect(weightStatsF16(shifted.subarray(1), 64).hist).toEqual(b.hist);
    expect(a.hist).toEqual(b.hist);
    expect([a.min, a.max, a.zeros, a.unique]).toEqual([b.min, b.max, b.zeros, b.unique]);
    expect(a.zeros).toBe(2);
    close(a.mean, b.mean);
    close(a.std, b.std);
  });

  it('handles empty and constant tensors', () => {
    expect(weightStatsF16(new Uint16Array(0))).toEqual(weightStats(new Float32Array(0)));
    const c = weightStatsF16(Uint16Array.from([0x4000, 0x4000, 0x4000]), 4); // 2, 2, 2
    expect(c.std).toBe(0);
    expect(c.mean).toBe(2);
    expect(c.unique).toBe(1);
    expect(c.hist).toEqual([3, 0, 0, 0]);
  });
});
