import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { f16ArrayToF32 } from '../src/core/tensor/fp16';
import { countDistinct, countDistinctF16, weightStats } from './stats';

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
