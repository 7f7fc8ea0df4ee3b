/**
 * The compression kernels run their per-element loops in pieces of CHUNK elements (tensor/pieces.ts), with
 * running positions and accumulators carried from piece to piece. These check tensors longer than several
 * pieces, at odd alignments, against plain loops over the whole tensor in element order: the same arrays and
 * bit-for-bit the same statistics.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK } from '../tensor/pieces';
import { F16_TABLE, f32ToF16 } from '../tensor/fp16';
import type { DenseTensor } from '../model/types';
import type { AffineRepr, LutRepr, SparseRepr } from './types';
import {
  gatherAboveF16,
  gatherKeptF16,
  gatherKeptF32,
  histogramF16,
  keepAboveF16,
  keepAboveF32,
  keepNonzeroF16,
  keepNonzeroF32,
  magnitudeHistogramF16,
} from './prune/f16-passes';
import { ranksOfMagnitudes } from './prune/f32-select';
import { pruneMagnitude, sparseFrom } from './prune/prune';
import { r16 } from './numeric';
import { quantize } from './quantize/quantize';
import { linearQuantizerConfig } from './quantize/options';
import { getHint } from './hints';
import { computeMetrics } from './metrics';
import { affineToDense, lutToDense, sparseToDense } from './decompress';
import { prunedDense } from './joint';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const N = 3 * CHUNK + 37;

/** n fp16 patterns at `off` elements into a buffer: gaussian-ish values, zeros, -0, subnormals, ties. */
function f16At(n: number, off: number, seed: number): Uint16Array {
  const r = rng(seed);
  const b = new Uint16Array(new ArrayBuffer(2 * (n + off + 4)), 2 * off, n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.05) b[i] = 0;
    else if (u < 0.07) b[i] = 0x8000;
    else if (u < 0.1) b[i] = Math.floor(r() * 1023) + 1;
    else if (u < 0.2) b[i] = f32ToF16(0.01);
    else b[i] = f32ToF16((r() + r() + r() - 1.5) * 0.1);
  }
  return b;
}

function f32At(n: number, off: number, seed: number): Float32Array {
  const bits = f16At(n, 0, seed);
  const r = rng(seed + 1);
  const f = new Float32Array(new ArrayBuffer(4 * (n + off + 4)), 4 * off, n);
  for (let i = 0; i < n; i++) f[i] = F16_TABLE[bits[i]] * (1 + r() * 1e-3);
  return f;
}

/** The number of positions where two arrays differ (and their lengths must agree). */
function diff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) d++;
  return d;
}

/** Sequential error sums of decoded values d against w: se, sig, max |err| in element order. */
function seqStats(w: (i: number) => number, d: ArrayLike<number>): { se: number; sig: number; mx: number } {
  let se = 0;
  let sig = 0;
  let mx = 0;
  for (let i = 0; i < d.length; i++) {
    const e = w(i) - d[i];
    se += e * e;
    sig += w(i) * w(i);
    if (Math.abs(e) > mx) mx = Math.abs(e);
  }
  return { se, sig, mx };
}

describe('pruning passes in pieces', () => {
  it('histograms, masks, keep arrays and gathers equal plain loops over several pieces at 0-, 2-, 4- and 6-byte offsets', () => {
    for (const off of [0, 1, 2, 3]) {
      const bits = f16At(N, off, 10 + off);
      const cnt = new Uint32Array(65536);
      for (let i = 0; i < N; i++) cnt[bits[i]]++;
      expect(diff(histogramF16(bits), cnt)).toBe(0);
      const mcnt = new Uint32Array(0x8000);
      for (let i = 0; i < N; i++) mcnt[bits[i] & 0x7fff]++;
      const got = new Uint32Array(0x8000);
      magnitudeHistogramF16(bits, N, got);
      expect(diff(got, mcnt)).toBe(0);

      const tb = f32ToF16(0.01) & 0x7fff;
      const keep = new Uint8Array(N);
      const kept: number[] = [];
      const maskWant = new Uint8Array((N + 7) >> 3);
      for (let i = 0; i < N; i++) {
        keep[i] = (bits[i] & 0x7fff) > tb ? 1 : 0;
        if (keep[i]) {
          kept.push(bits[i]);
          maskWant[i >> 3] |= 1 << (i & 7);
        }
      }
      const k16 = new Uint8Array(N);
      keepAboveF16(bits, tb, k16);
      expect(diff(k16, keep)).toBe(0);
      const maskBits = new Uint8Array((N + 7) >> 3);
      const values16 = new Uint16Array(kept.length);
      gatherAboveF16(bits, tb, maskBits, values16);
      expect(diff(maskBits, maskWant)).toBe(0);
      expect(diff(values16, kept)).toBe(0);

      // keep-nonzero and the gathers, from a random keep array
      const r = rng(20 + off);
      const k0 = Uint8Array.from({ length: N }, () => +(r() < 0.6));
      const kWant = k0.map((k, i) => k & +((bits[i] & 0x7fff) !== 0));
      const k1 = k0.slice();
      expect(keepNonzeroF16(bits, k1)).toBe(kWant.reduce((a, b) => a + b, 0));
      expect(diff(k1, kWant)).toBe(0);
      const vals = new Float32Array(k1.reduce((a, b) => a + b, 0));
      gatherKeptF16(bits, k1, vals);
      expect(diff(vals, Array.from(bits).filter((_, i) => k1[i]).map((h) => F16_TABLE[h]))).toBe(0);

      const fl = f32At(N, off, 30 + off);
      const kf = k0.slice();
      const kfWant = k0.map((k, i) => k & +(fl[i] !== 0));
      expect(keepNonzeroF32(fl, kf)).toBe(kfWant.reduce((a, b) => a + b, 0));
      expect(diff(kf, kfWant)).toBe(0);
      const vf = new Float32Array(kfWant.reduce((a, b) => a + b, 0));
      gatherKeptF32(fl, kf, vf);
      expect(diff(vf, Array.from(fl).filter((_, i) => kf[i]))).toBe(0);
      const t = Math.fround(0.02);
      const ka = new Uint8Array(N);
      const kaWant = Uint8Array.from(fl, (v) => +!(Math.abs(v) <= t));
      expect(keepAboveF32(fl, t, ka)).toBe(kaWant.reduce((a, b) => a + b, 0));
      expect(diff(ka, kaWant)).toBe(0);

      // rank selection: the elements Float32Array sort puts at ranks lo and hi
      const sorted = Float32Array.from(fl, Math.abs).sort();
      const lo = Math.floor(N * 0.37);
      const [a, b] = ranksOfMagnitudes(new Uint32Array(fl.buffer, fl.byteOffset, N), lo, lo + 1);
      expect([a, b]).toEqual([sorted[lo], sorted[lo + 1]]);
    }
  });
});

describe('structured pruning in pieces of whole blocks / groups', () => {
  it('block magnitude (fp16 and fp32) over 16 pieces: the mask of unstructured pruning of the reference norm map, and w != 0', () => {
    const shape = [64, 8, 1030]; // dim 0, block 4: a block spans 4 · 8240 elements, one block per piece
    const n = 64 * 8 * 1030;
    const inner = n / 64;
    for (const fp16 of [true, false]) {
      const bits = f16At(n, 0, 80);
      const fl = f32At(n, 0, 81);
      const dense: DenseTensor = fp16 ? { dtype: 'fp16', shape, data: bits } : { dtype: 'fp32', shape, data: fl };
      const rd = fp16 ? r16 : Math.fround;
      const w = (i: number) => (fp16 ? F16_TABLE[bits[i]] : fl[i]);
      const norms = fp16 ? new Uint16Array(n) : new Float32Array(n);
      for (let c0 = 0; c0 < 64; c0 += 4)
        for (let r = 0; r < inner; r++) {
          let acc = 0;
          for (let c = c0; c < c0 + 4; c++) acc = c === c0 ? rd(w(c * inner + r) ** 2) : rd(acc + rd(w(c * inner + r) ** 2));
          const v = rd(Math.sqrt(acc));
          for (let c = c0; c < c0 + 4; c++) norms[c * inner + r] = fp16 ? f32ToF16(v) : v;
        }
      const normDense: DenseTensor = fp16 ? { dtype: 'fp16', shape, data: norms } : { dtype: 'fp32', shape, data: norms };
      const ref = pruneMagnitude(normDense, { target_sparsity: 0.6 } as never) as SparseRepr;
      const got = pruneMagnitude(dense, { target_sparsity: 0.6, block_size: 4, dim: 0 } as never) as SparseRepr;
      expect('skip' in got).toBe(false);
      const want = ref.mask.map((k, i) => k & +(w(i) !== 0));
      expect(diff(got.mask, want)).toBe(0);
    }
  });

  it('n:m over 7 pieces of groups: the stable ascending order of each group of m along dim 1 (ties to the lower index)', () => {
    const shape = [3000, 18, 9]; // C = 18 with m = 4: a padded last group
    const n = 3000 * 18 * 9;
    const bits = f16At(n, 0, 90);
    const dense: DenseTensor = { dtype: 'fp16', shape, data: bits };
    const got = pruneMagnitude(dense, { n_m_ratio: [2, 4], dim: 1 } as never) as SparseRepr;
    expect('skip' in got).toBe(false);
    const want = new Uint8Array(n);
    for (let o = 0; o < 3000; o++)
      for (let r = 0; r < 9; r++)
        for (let c0 = 0; c0 < 18; c0 += 4) {
          const slots = [0, 1, 2, 3].map((j) => ({ j, a: c0 + j < 18 ? Math.abs(F16_TABLE[bits[(o * 18 + c0 + j) * 9 + r]]) : 0 }));
          slots.sort((x, y) => x.a - y.a || x.j - y.j);
          const pruned = new Set(slots.slice(0, 2).map((x) => x.j));
          for (let j = 0; j < 4 && c0 + j < 18; j++) {
            const i = (o * 18 + c0 + j) * 9 + r;
            want[i] = +(!pruned.has(j) && (bits[i] & 0x7fff) !== 0);
          }
        }
    expect(diff(got.mask, want)).toBe(0);
  });
});

describe('quantization, metrics, decompression and joint helpers in pieces', () => {
  const ctx = { outputAxis: 0, inputAxis: 1 };

  it('per-tensor int8 of fp32 weights: codes as the formula, fused statistics equal to the sequential sums', () => {
    for (const off of [0, 1]) {
      const fl = f32At(N, off, 40 + off);
      const dense: DenseTensor = { dtype: 'fp32', shape: [1, N], data: fl };
      for (const mode of ['linear_symmetric', 'linear'] as const) {
        const r = quantize(dense, linearQuantizerConfig({ dtype: 'int8', granularity: 'per_tensor', mode }), ctx) as AffineRepr;
        expect('skip' in r).toBe(false);
        const d = affineToDense(r);
        const off0 = r.offset ? r.offset[0] : 0;
        let bad = 0;
        for (let i = 0; i < N; i++) if (d[i] !== Math.fround((r.data[i] - off0) * r.scale[0])) bad++;
        expect(bad).toBe(0);
        const want = seqStats((i) => fl[i], d);
        const st = getHint(r, dense)!;
        expect([st.se, st.sig, st.mx]).toEqual([want.se, want.sig, want.mx]);
        // the metrics of a copy without the hint: the affine pass, sums in element order
        const m = computeMetrics(dense, { ...r });
        expect(m.mse).toBe(want.se / N);
        expect(m.maxAbsErr).toBe(want.mx);
      }
    }
  });

  it('per-tensor int8 / uint8 of fp16 weights at an odd offset: the fused statistics equal the two-accumulator pair sums', () => {
    for (const off of [0, 1]) {
      const bits = f16At(N, off, 50 + off);
      const dense: DenseTensor = { dtype: 'fp16', shape: [1, N], data: bits };
      for (const [dtype, mode] of [['int8', 'linear_symmetric'], ['uint8', 'linear']] as const) {
        const r = quantize(dense, linearQuantizerConfig({ dtype, granularity: 'per_tensor', mode }), ctx) as AffineRepr;
        const d = affineToDense(r);
        // symLoop: an odd head, an odd tail (into the first sums), then pairs of a 32-bit word into two sums
        const acc = [0, 0, 0, 0];
        let mx = 0;
        const add = (i: number, k: 0 | 1) => {
          const w = F16_TABLE[bits[i]];
          const e = w - d[i];
          acc[k] += e * e;
          acc[2 + k] += w * w;
          if (Math.abs(e) > mx) mx = Math.abs(e);
        };
        let i = 0;
        let end = N;
        if (off & 1) add(i++, 0);
        if ((off + end) & 1) add(--end, 0);
        for (; i < end; i += 2) {
          add(i, 0);
          add(i + 1, 1);
        }
        const st = getHint(r, dense)!;
        expect([st.se, st.sig, st.mx]).toEqual([acc[0] + acc[1], acc[2] + acc[3], mx]);
        // every code at its own position: no error beyond half a step plus the fp16 rounding of the decoded value
        expect(mx).toBeLessThanOrEqual(r.scale[0] * 0.5 + 2 ** -11 * 0.5);
        const m = computeMetrics(dense, { ...r });
        const want = seqStats((j) => F16_TABLE[bits[j]], d);
        expect(m.mse).toBe(want.se / N);
      }
    }
  });

  it('sparse and LUT decoding, their metrics and prunedDense equal plain loops over several pieces', () => {
    for (const off of [0, 3]) {
      const bits = f16At(N, off, 60 + off);
      const dense: DenseTensor = { dtype: 'fp16', shape: [1, N], data: bits };
      const r = rng(70 + off);
      const sp = sparseFrom(dense, Uint8Array.from({ length: N }, () => +(r() < 0.5)));
      const dd = sparseToDense(sp);
      let j = 0;
      let bad = 0;
      for (let i = 0; i < N; i++) if (dd[i] !== (sp.mask[i] ? sp.values[j++] : 0)) bad++;
      expect(bad).toBe(0);
      const want = seqStats((i) => F16_TABLE[bits[i]], dd);
      const m = computeMetrics(dense, sp);
      expect(m.mse).toBe(want.se / N);
      expect(m.maxAbsErr).toBe(want.mx);
      const pd = prunedDense(dense, sp as SparseRepr).data as Uint16Array;
      for (let i = 0; i < N; i++) if (pd[i] !== (sp.mask[i] ? bits[i] : 0)) bad++;
      expect(bad).toBe(0);

      // a per-tensor 4-bit LUT (indices not a function of the bit pattern: the accTable pass)
      const lut = Float32Array.from({ length: 16 }, (_, k) => F16_TABLE[f32ToF16((k - 7.5) * 0.02)]);
      const indices = Uint8Array.from({ length: N }, () => Math.floor(r() * 16));
      const lr: LutRepr = { kind: 'lut', dtype: 'fp16', nbits: 4, shape: [1, N], indices, indicesShape: [1, N], lut, lutShape: [1, 1, 16, 1] };
      const ld = lutToDense(lr);
      for (let i = 0; i < N; i++) if (ld[i] !== lut[indices[i]]) bad++;
      expect(bad).toBe(0);
      const lw = seqStats((i) => F16_TABLE[bits[i]], ld);
      const lm = computeMetrics(dense, lr);
      expect(lm.mse).toBe(lw.se / N);
      expect(lm.maxAbsErr).toBe(lw.mx);
    }
  });
});
