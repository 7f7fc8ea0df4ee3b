/** fp32 magnitude pruning: ranks by bit-pattern histograms instead of a sort, branch-free mask and gather. */
import { describe, expect, it } from 'vitest';
import type { DenseTensor } from '../../model/types';
import type { SparseRepr } from '../types';
import { lerpPercentile, pruneMagnitude, pruneThreshold } from './prune';
import { magnitudePrunerConfig, thresholdPrunerConfig } from './options';
import { ranksOfMagnitudes } from './f32-select';

function rng(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

function floats(n: number, seed: number, special = true): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (special && u < 0.02) out[i] = 0;
    else if (special && u < 0.04) out[i] = -0;
    else if (special && u < 0.06) out[i] = r() < 0.5 ? 1e-40 : -3e-42; // subnormal
    else if (u < 0.2) out[i] = r() < 0.5 ? 0.03125 : -0.03125; // a tie block
    else out[i] = (r() + r() + r() - 1.5) * 0.05;
  }
  return out;
}

function reference(fl: Float32Array, s: number): { mask: number[]; values: number[] } {
  const n = fl.length;
  const sorted = Float32Array.from(fl, Math.abs).sort();
  const vidx = s * (n - 1);
  const lo = Math.floor(vidx);
  const thr = Math.fround(lerpPercentile(sorted[lo], sorted[Math.min(lo + 1, n - 1)], vidx - lo, Math.fround));
  const mask = Array.from(fl, (w) => (Math.abs(w) <= thr || w === 0 ? 0 : 1));
  return { mask, values: Array.from(fl).filter((_, i) => mask[i]) };
}

describe('fp32 pruning', () => {
  it('ranksOfMagnitudes equals the sorted |v| at every rank pair tried (ties, zeros, -0, subnormals, inf, NaN)', () => {
    const v = floats(5000, 1);
    v.set([Infinity, -Infinity, NaN, -NaN, 3.4e38, 1.17e-38], 100);
    const sorted = Float32Array.from(v, Math.abs).sort();
    const u = new Uint32Array(v.buffer);
    for (const k of [0, 1, 99, 1000, 2499, 2500, 4000, 4993, 4994, 4995, 4996, 4997, 4998]) {
      const [a, b] = ranksOfMagnitudes(u, k, k + 1);
      expect(Object.is(a, sorted[k]) || (Number.isNaN(a) && Number.isNaN(sorted[k]))).toBe(true);
      expect(Object.is(b, sorted[k + 1]) || (Number.isNaN(b) && Number.isNaN(sorted[k + 1]))).toBe(true);
    }
    // ranks in different top-16-bit buckets, and lo == hi
    const w = Float32Array.from([1, 2, 3, 1.0000001, 4]);
    expect(ranksOfMagnitudes(new Uint32Array(w.buffer), 0, 1)).toEqual([1, Math.fround(1.0000001)]);
    expect(ranksOfMagnitudes(new Uint32Array(w.buffer), 2, 4)).toEqual([2, 4]);
    expect(ranksOfMagnitudes(new Uint32Array(w.buffer), 4, 4)).toEqual([4, 4]);
  });

  it('magnitude pruning equals the sort-based definition for several lengths and sparsities', () => {
    for (const n of [1, 2, 7, 64, 1001, 20000])
      for (const s of [0.1, 0.5, 0.77, 0.99]) {
        const fl = floats(n, n + Math.round(s * 1000));
        const dense: DenseTensor = { dtype: 'fp32', shape: [n], data: fl };
        const r = pruneMagnitude(dense, magnitudePrunerConfig({ target_sparsity: s })) as SparseRepr;
        const ref = reference(fl, s);
        expect(Array.from(r.mask)).toEqual(ref.mask);
        expect(Array.from(r.values)).toEqual(ref.values);
      }
  });

  it('threshold pruning keeps |w| > fp32(threshold), skips below the minimum sparsity', () => {
    const fl = floats(3000, 5);
    for (const thr of [0, 0.01, 0.03125, 1])
      for (const minS of [0, 0.5]) {
        const r = pruneThreshold({ dtype: 'fp32', shape: [3000], data: fl }, thresholdPrunerConfig({ threshold: thr, minimum_sparsity_percentile: minS }));
        const t = Math.fround(thr);
        const keep = Array.from(fl, (w) => (Math.abs(w) > t ? 1 : 0));
        if ((3000 - keep.reduce((a: number, b) => a + b, 0)) / 3000 < minS) {
          expect('skip' in r).toBe(true);
          continue;
        }
        const sp = r as SparseRepr;
        expect(Array.from(sp.mask)).toEqual(keep);
        expect(Array.from(sp.values)).toEqual(Array.from(fl).filter((_, i) => keep[i]));
      }
  });
});
