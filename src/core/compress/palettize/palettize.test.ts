import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import type { LutRepr } from '../types';
import { palettize } from './palettize';
import { palettizerConfig } from './options';

const ctx = { outputAxis: 0, inputAxis: 1 };

/** Slot of the nearest LUT entry, ties → the lower slot (NaN → slot of the smallest entry, as the engine). */
function nearestSlot(lut: Float32Array, count: number, x: number): number {
  let best = 0;
  let bd = Infinity;
  for (let k = 0; k < count; k++) {
    const d = Math.abs(x - lut[k]);
    if (d < bd) {
      bd = d;
      best = k;
    }
  }
  return best;
}

describe('per-tensor fp16 k-means on large tensors (histogram + pattern table + gather path)', () => {
  it('every element gets its nearest LUT entry (ties → lower slot), at any run alignment', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.constantFrom(1, 2, 4, 6),
        fc.constantFrom(0, 1),
        fc.constantFrom('gauss', 'grid'),
        (seed, nbits, shift, kind) => {
          let s = seed;
          const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
          const n = 128 * 160;
          // a view at an odd element offset exercises the unaligned head of the 32-bit passes
          const buf = new Uint16Array(n + shift);
          const bits = buf.subarray(shift);
          for (let i = 0; i < n; i++) {
            const v = kind === 'grid' ? Math.round((rnd() * 2 - 1) * 6) / 2 : Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(7 * rnd()) * 0.05;
            bits[i] = f32ToF16(v);
          }
          const r = palettize({ dtype: 'fp16', shape: [128, 160], data: bits }, palettizerConfig({ mode: 'kmeans', nbits, granularity: 'per_tensor' }), ctx) as LutRepr;
          expect('skip' in r).toBe(false);
          const distinct = new Set(Array.from(bits, (b) => F16_TABLE[b] || 0)).size;
          const count = Math.min(1 << nbits, distinct);
          let bad = 0;
          for (let i = 0; i < n; i++) if (r.indices[i] !== nearestSlot(r.lut, count, F16_TABLE[bits[i]])) bad++;
          expect(bad).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
