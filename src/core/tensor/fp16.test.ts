import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { f32ToF16, F16_TABLE, roundF16 } from './fp16';

describe('fp16', () => {
  it('encodes the worked examples of formats.md §4.7', () => {
    expect(f32ToF16(1.0)).toBe(0x3c00);
    expect(f32ToF16(-2.5)).toBe(0xc100);
    expect(f32ToF16(0)).toBe(0);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(F16_TABLE[f32ToF16(NaN)])).toBe(true);
    expect(f32ToF16(2 ** -24)).toBe(1); // smallest subnormal
    expect(f32ToF16(2 ** -26)).toBe(0); // below half of it
  });

  it('round-trips every finite fp16 value', () => {
    for (let h = 0; h < 65536; h++) {
      const e = (h >>> 10) & 0x1f;
      if (e === 0x1f) continue;
      expect(f32ToF16(F16_TABLE[h])).toBe(h);
    }
  });

  it('rounds half to even, like numpy astype(float16)', () => {
    // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0)
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // subnormal tie: 1.5 · 2^-24 → 2 · 2^-24 (even)
    expect(f32ToF16(1.5 * 2 ** -24)).toBe(2);
    expect(f32ToF16(2.5 * 2 ** -24)).toBe(2);
  });

  it('gives the nearest fp16 value for any float', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (v) => {
        const r = roundF16(v);
        const h = f32ToF16(v);
        // neighbours are not closer
        const up = F16_TABLE[(h & 0x8000) | ((h & 0x7fff) + 1)];
        const down = (h & 0x7fff) === 0 ? r : F16_TABLE[(h & 0x8000) | ((h & 0x7fff) - 1)];
        const err = Math.abs(Math.fround(v) - r);
        return err <= Math.abs(Math.fround(v) - up) && err <= Math.abs(Math.fround(v) - down);
      }),
    );
  });
});
