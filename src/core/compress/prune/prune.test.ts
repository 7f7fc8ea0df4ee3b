/**
 * The fast fp16 magnitude-pruning passes (histogram of bit patterns read as 32-bit pairs, 4-wide mask and
 * gather, alignment fallbacks) against the plain definition: sort the magnitudes, numpy's linear percentile
 * with the fp16 difference, threshold rounded to fp16, keep |w| > threshold.
 */
import { describe, expect, it } from 'vitest';
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import type { DenseTensor } from '../../model/types';
import type { SparseRepr } from '../types';
import { f64ToF16, r16 } from '../numeric';
import { lerpPercentile, pruneMagnitude, pruneThreshold } from './prune';
import { magnitudePrunerConfig, thresholdPrunerConfig } from './options';
import { gatherAboveF16, histogramF16, r16Sum } from './f16-passes';
import { packLSB } from '../../tensor/pack';
import { computeMetrics } from '../metrics';

function rng(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

/** Plain definition: mask and fp16 patterns of the kept values. */
function reference(bits: Uint16Array, s: number): { mask: Uint8Array; kept: number[] } {
  const n = bits.length;
  const mags = Array.from(bits, (h) => h & 0x7fff).sort((a, b) => a - b);
  const vidx = s * (n - 1);
  const lo = Math.floor(vidx);
  const hi = Math.min(lo + 1, n - 1);
  const thr = lerpPercentile(F16_TABLE[mags[lo]], F16_TABLE[mags[hi]], vidx - lo, r16);
  const tb = f64ToF16(thr) & 0x7fff;
  const mask = new Uint8Array(n);
  const kept: number[] = [];
  for (let i = 0; i < n; i++)
    if ((bits[i] & 0x7fff) > tb) {
      mask[i] = 1;
      kept.push(bits[i]);
    }
  return { mask, kept };
}

function check(bits: Uint16Array, s: number): void {
  const dense: DenseTensor = { dtype: 'fp16', shape: [bits.length], data: bits };
  const r = pruneMagnitude(dense, magnitudePrunerConfig({ target_sparsity: s })) as SparseRepr;
  const ref = reference(bits, s);
  expect(r.kind).toBe('sparse');
  expect(r.shape).toEqual([bits.length]);
  expect(r.mask).toEqual(ref.mask);
  expect(r.values.length).toBe(ref.kept.length);
  // every stored value is the kept weight itself, in order
  expect(Array.from(r.values, (v) => f32ToF16(v))).toEqual(ref.kept);
  expect(Array.from(r.values)).toEqual(ref.kept.map((h) => F16_TABLE[h]));
}

/** Gaussian-ish fp16 weights, with a share of exact zeros, negative zeros, subnormals and repeated values. */
function weights(n: number, seed: number, std = 0.02): Uint16Array {
  const r = rng(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.03) out[i] = 0;
    else if (u < 0.05) out[i] = 0x8000;
    else if (u < 0.08) out[i] = (Math.floor(r() * 1023) + 1) | (r() < 0.5 ? 0x8000 : 0); // subnormal
    else if (u < 0.2) out[i] = f32ToF16(r() < 0.5 ? 0.01 : -0.01); // a tie block
    else out[i] = f32ToF16((r() + r() + r() - 1.5) * 2 * std);
  }
  return out;
}

describe('fp16 magnitude pruning (fast passes)', () => {
  it('equals the sorted-percentile definition for every length 1..70 and several sparsities', () => {
    for (let n = 1; n <= 70; n++)
      for (const s of [0.1, 0.5, 0.75, 0.93]) check(weights(n, n * 31 + Math.round(s * 100)), s);
  });

  it('equals the definition on large tensors, aligned and at 2-, 4- and 6-byte offsets into a buffer', () => {
    const base = weights(40_003 + 3, 5);
    for (const off of [0, 1, 2, 3])
      for (const s of [0.3, 0.5, 0.9]) check(base.subarray(off, off + 40_001 + (off & 1)), s);
  });

  it('with heavy ties (8 distinct magnitudes) prunes every tie at the threshold', () => {
    const r = rng(3);
    const levels = [0, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064].map((v) => f32ToF16(v));
    const bits = Uint16Array.from({ length: 10_001 }, () => levels[Math.floor(r() * 8)] | (r() < 0.5 ? 0x8000 : 0));
    for (const s of [0.2, 0.37, 0.5, 0.8]) check(bits, s);
  });

  it('the fused error statistics (hint) equal the metrics computed from the arrays', () => {
    for (const [n, s] of [[5000, 0.5], [777, 0.3], [4096, 0.9]] as const) {
      const bits = weights(n, n);
      const dense: DenseTensor = { dtype: 'fp16', shape: [n], data: bits };
      const sp = pruneMagnitude(dense, magnitudePrunerConfig({ target_sparsity: s })) as SparseRepr;
      const fused = computeMetrics(dense, sp, 'iOS16');
      const plain = computeMetrics(dense, { ...sp }, 'iOS16'); // a copy has no hint
      expect(fused).toEqual(plain);
      expect(Math.round(fused.sparsity * n)).toBeGreaterThanOrEqual(Math.floor(s * (n - 1)) + 1);
    }
  });

  it('threshold pruning (fp16) equals the definition: zero |w| <= fp16(threshold), skip below the minimum sparsity', () => {
    const bits = weights(3001, 77);
    for (const thr of [0, 1e-12, 0.005, 0.01, 0.02, 1e9])
      for (const minS of [0, 0.3, 0.5]) {
        const dense: DenseTensor = { dtype: 'fp16', shape: [3001], data: bits };
        const r = pruneThreshold(dense, thresholdPrunerConfig({ threshold: thr, minimum_sparsity_percentile: minS }));
        const tb = f64ToF16(thr) & 0x7fff;
        const keep = Array.from(bits, (h) => ((h & 0x7fff) > tb ? 1 : 0));
        const zeros = keep.filter((k) => !k).length;
        if (zeros / 3001 < minS) {
          expect((r as { skip: string }).skip).toMatch(/below minimum_sparsity_percentile/);
          continue;
        }
        const sp = r as SparseRepr;
        expect(Array.from(sp.mask)).toEqual(keep);
        expect(Array.from(sp.values)).toEqual(Array.from(bits).filter((h) => (h & 0x7fff) > tb).map((h) => F16_TABLE[h]));
        expect(computeMetrics(dense, sp)).toEqual(computeMetrics(dense, { ...sp }));
      }
  });

  it('r16Sum equals r16 on sums of fp16 values (ties, carries, overflow, subnormal) and on random doubles', () => {
    const r = rng(21);
    const pats = Array.from({ length: 1500 }, () => Math.floor(r() * 0x7c00));
    pats.push(0, 1, 0x3ff, 0x400, 0x7bff, 0x7bfe, 0x3c00, 0x3c01, 0x0400);
    let bad = 0;
    for (const a of pats) for (const b of pats) if (r16Sum(F16_TABLE[a] + F16_TABLE[b]) !== r16(F16_TABLE[a] + F16_TABLE[b])) bad++;
    for (let i = 0; i < 200_000; i++) {
      const x = r() * 2 ** (Math.floor(r() * 50) - 30);
      if (!Object.is(r16Sum(x), r16(x))) bad++;
    }
    for (const x of [65504, 65519.99, 65520, 1e6, 2 ** -14, 2 ** -14 * (1 - 2 ** -12), 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0]) if (!Object.is(r16Sum(x), r16(x))) bad++;
    expect(bad).toBe(0);
  });

  it('block magnitude pruning (fp16 and fp32) equals the definition: fp16 square, sequential sum, sqrt, percentile', () => {
    for (const [shape, dim, b, s] of [
      [[12, 10], 0, 4, 0.5],
      [[9, 6, 3], 1, 2, 0.75],
      [[16, 8, 3, 3], 0, 4, 0.6],
      [[10, 40], 1, 8, 0.3],
    ] as [number[], number, number, number][]) {
      const n = shape.reduce((x, y) => x * y, 1);
      const bits = weights(n, n + b, 0.3);
      for (const dtype of ['fp16', 'fp32'] as const) {
        const data = dtype === 'fp16' ? bits : Float32Array.from(bits, (h) => F16_TABLE[h] * 1.001);
        const w = dtype === 'fp16' ? Array.from(bits, (h) => F16_TABLE[h]) : Array.from(data as Float32Array);
        const rd = dtype === 'fp16' ? r16 : Math.fround;
        const outer = shape.slice(0, dim).reduce((x, y) => x * y, 1);
        const C = shape[dim];
        const inner = shape.slice(dim + 1).reduce((x, y) => x * y, 1);
        const norm = new Array<number>(n);
        for (let o = 0; o < outer; o++)
          for (let c0 = 0; c0 < C; c0 += b)
            for (let r = 0; r < inner; r++) {
              let acc = 0;
              for (let c = c0; c < Math.min(C, c0 + b); c++) {
                const v = w[(o * C + c) * inner + r];
                acc = c === c0 ? rd(v * v) : rd(acc + rd(v * v));
              }
              const nv = rd(Math.sqrt(acc));
              for (let c = c0; c < Math.min(C, c0 + b); c++) norm[(o * C + c) * inner + r] = nv;
            }
        const sorted = norm.slice().sort((x, y) => x - y);
        const vidx = s * (n - 1);
        const lo = Math.floor(vidx);
        const p = lerpPercentile(sorted[lo], sorted[Math.min(lo + 1, n - 1)], vidx - lo, rd);
        const thr = dtype === 'fp16' ? F16_TABLE[f64ToF16(p)] : Math.fround(p);
        const want = norm.map((x, i) => (x <= thr || w[i] === 0 ? 0 : 1));
        const dense: DenseTensor = { dtype, shape, data };
        const got = pruneMagnitude(dense, magnitudePrunerConfig({ target_sparsity: s, block_size: b, dim })) as SparseRepr;
        expect(Array.from(got.mask)).toEqual(want);
        expect(Array.from(got.values)).toEqual(w.filter((_, i) => want[i]));
      }
    }
  });

  it('n:m pruning equals the stable insertion sort per group (ties, padding, inner axes, NaN fallback)', () => {
    const cases: [number[], number, [number, number]][] = [
      [[8, 16], 1, [2, 4]],
      [[6, 10, 3], 1, [1, 3]],
      [[12, 5], 0, [3, 4]],
      [[4, 9, 2, 2], 1, [2, 4]],
    ];
    for (const [shape, dim, [np, m]] of cases)
      for (const withNaN of [false, true]) {
        const n = shape.reduce((x, y) => x * y, 1);
        const bits = weights(n, n * m + np);
        if (withNaN) bits[5] = 0x7e00;
        for (const dtype of ['fp16', 'fp32'] as const) {
          const w = dtype === 'fp16' ? Array.from(bits, (h) => F16_TABLE[h]) : Array.from(bits, (h) => F16_TABLE[h] * 3);
          const data = dtype === 'fp16' ? bits : Float32Array.from(w);
          const outer = shape.slice(0, dim).reduce((x, y) => x * y, 1);
          const C = shape[dim];
          const inner = shape.slice(dim + 1).reduce((x, y) => x * y, 1);
          const want = w.map((v) => +(v !== 0));
          for (let o = 0; o < outer; o++)
            for (let r = 0; r < inner; r++)
              for (let c0 = 0; c0 < C; c0 += m) {
                const mag = Array.from({ length: m }, (_, j) => (c0 + j < C ? Math.abs(w[(o * C + c0 + j) * inner + r]) : 0));
                const ord = Array.from({ length: m }, (_, j) => j);
                for (let a = 1; a < m; a++) {
                  const x = ord[a];
                  let b = a - 1;
                  while (b >= 0 && mag[ord[b]] > mag[x]) ord[b + 1] = ord[b--];
                  ord[b + 1] = x;
                }
                for (let t = 0; t < np; t++) if (c0 + ord[t] < C) want[(o * C + c0 + ord[t]) * inner + r] = 0;
              }
          const got = pruneMagnitude({ dtype, shape, data }, magnitudePrunerConfig({ n_m_ratio: [np, m], dim })) as SparseRepr;
          expect(Array.from(got.mask)).toEqual(want);
        }
      }
  });

  it('histogramF16 counts every pattern, at any alignment', () => {
    const b = weights(1001, 9);
    for (const off of [0, 1]) {
      const v = b.subarray(off, off + 999);
      const cnt = histogramF16(v);
      const ref = new Uint32Array(65536);
      for (const h of v) ref[h]++;
      expect(cnt).toEqual(ref);
    }
  });

  it('gatherAboveF16 packs the mask LSB-first and gathers the kept patterns, aligned or not', () => {
    const base = weights(1003, 11);
    const tb = f32ToF16(0.01) & 0x7fff;
    for (const off of [0, 1, 2])
      for (const n of [1000, 997, 8, 7]) {
        const bits = base.subarray(off, off + n);
        const kept = Array.from(bits).filter((h) => (h & 0x7fff) > tb);
        const maskBits = new Uint8Array(Math.ceil(n / 8));
        const v16 = new Uint16Array(kept.length);
        gatherAboveF16(bits, tb, maskBits, v16);
        expect(maskBits).toEqual(packLSB(Array.from(bits, (h) => ((h & 0x7fff) > tb ? 1 : 0)), 1));
        expect(Array.from(v16)).toEqual(kept);
      }
  });
});
