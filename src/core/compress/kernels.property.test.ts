/** Property tests of the kernels on random tensors and shapes (fast-check). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { F16_TABLE, f32ToF16 } from '../tensor/fp16';
import type { DenseTensor } from '../model/types';
import type { AffineRepr, LutRepr, SparseRepr } from './types';
import { kmeans1d, kmeans1dSmawk, kmeansOptimal } from './palettize/kmeans1d';
import { palettize } from './palettize/palettize';
import { palettizerConfig } from './palettize/options';
import { quantize } from './quantize/quantize';
import { linearQuantizerConfig, quantRange } from './quantize/options';
import { pruneMagnitude, pruneThreshold } from './prune/prune';
import { magnitudePrunerConfig, thresholdPrunerConfig } from './prune/options';
import { prunePalettize, pruneQuantize, quantizeLut } from './joint';
import { decompress } from './decompress';
import { computeMetrics, sse } from './metrics';
import { rhe, r16 } from './numeric';

const ctx = { outputAxis: 0, inputAxis: 1 };

/** A random fp16 or fp32 tensor of rank 2-4 with small dims. */
const tensorArb = (dtype?: 'fp16' | 'fp32', minDims = 1) =>
  fc
    .record({
      shape: fc.array(fc.integer({ min: minDims, max: 6 }), { minLength: 2, maxLength: 4 }),
      dtype: dtype ? fc.constant(dtype) : fc.constantFrom<'fp16' | 'fp32'>('fp16', 'fp32'),
      seed: fc.integer({ min: 1, max: 1e9 }),
      spread: fc.constantFrom(0.02, 1, 300),
      levels: fc.constantFrom(0, 3, 7),
    })
    .map(({ shape, dtype, seed, spread, levels }): DenseTensor => {
      const n = shape.reduce((a, b) => a * b, 1);
      let s = seed;
      const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647) * 2 - 1;
      const vals = Array.from({ length: n }, () => (levels ? Math.round(rnd() * levels) / levels : rnd()) * spread);
      if (dtype === 'fp16') return { dtype, shape, data: Uint16Array.from(vals, (v) => f32ToF16(v)) };
      return { dtype, shape, data: Float32Array.from(vals) };
    });

const valuesOf = (t: DenseTensor): number[] => (t.dtype === 'fp16' ? Array.from(t.data as Uint16Array, (h) => F16_TABLE[h]) : Array.from(t.data));

describe('k-means 1-D', () => {
  it('is optimal: equals a brute force over every labelling of tiny inputs', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 7 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 7, maxLength: 7 }),
        fc.integer({ min: 1, max: 4 }),
        (xsRaw, wsRaw, k) => {
          const xs = Float64Array.from(xsRaw.sort((a, b) => a - b).map((x) => x / 7));
          const ws = Float64Array.from(wsRaw.slice(0, xs.length));
          const r = kmeans1d(xs, ws, k);
          // brute force: all labellings into k clusters
          const n = xs.length;
          let best = Infinity;
          const lab = new Array(n).fill(0);
          const rec = (i: number) => {
            if (i === n) {
              let c = 0;
              for (let g = 0; g < k; g++) {
                let sw = 0;
                let sx = 0;
                for (let j = 0; j < n; j++) if (lab[j] === g) {
                  sw += ws[j];
                  sx += ws[j] * xs[j];
                }
                if (!sw) continue;
                const m = sx / sw;
                for (let j = 0; j < n; j++) if (lab[j] === g) c += ws[j] * (xs[j] - m) ** 2;
              }
              best = Math.min(best, c);
              return;
            }
            for (let g = 0; g < k; g++) {
              lab[i] = g;
              rec(i + 1);
            }
          };
          rec(0);
          expect(r.cost).toBeCloseTo(best, 9);
          expect(r.centers.length).toBe(Math.min(k, n));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('k-means 1-D, larger inputs', () => {
  it('divide-and-conquer and SMAWK reach the same optimum; the binned+Lloyd path is within 0.1% of it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 300 }), fc.constantFrom(2, 4, 16), (seed, n, k) => {
        let s = seed;
        const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
        const xs = Float64Array.from({ length: n }, (_, i) => i * 0.01 + rnd() * 0.005 + (rnd() < 0.1 ? 3 : 0)).sort();
        const ws = Float64Array.from({ length: n }, () => 1 + Math.floor(rnd() * 9));
        const a = kmeans1d(xs, ws, k);
        const b = kmeans1dSmawk(xs, ws, k);
        expect(b.cost).toBeCloseTo(a.cost, 8);
        expect(kmeansOptimal(xs, ws, k).cost).toBeLessThanOrEqual(a.cost * 1.001 + 1e-12);
      }),
      { numRuns: 60 },
    );
  });
});

describe('k-means beyond the exact limit (fp32 tensors)', () => {
  it('binned DP + Lloyd lands within 1e-6 of the exact optimum on 70,000 distinct values', () => {
    let s = 12345;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const n = 70000;
    const xs = Float64Array.from({ length: n }, () => {
      const u = rnd() || 1e-9;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
    }).sort();
    const ws = new Float64Array(n).fill(1);
    const exact = kmeans1d(xs, ws, 16);
    const fast = kmeansOptimal(xs, ws, 16);
    // both costs carry prefix-sum rounding (~1e-11 relative here); the exact optimum cannot be beaten by more
    expect(fast.cost).toBeGreaterThanOrEqual(exact.cost * (1 - 1e-9));
    expect(fast.cost).toBeLessThanOrEqual(exact.cost * (1 + 1e-6));
  });
});

describe('k-means on heavy-tailed fp32 weights', () => {
  it('keeps outliers in their own clusters: within 1e-4 of the exact optimum (PPOCRv4 conv2d_184 shape of data)', () => {
    // equal-count bins alone put 19.5, 19.6 and 29.3 into a bin with bulk values: 180x the optimal error
    let s = 777;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const vals = Float32Array.from({ length: 100000 }, () => {
      const u = rnd() || 1e-9;
      return 0.3 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
    });
    const sorted = Float64Array.from([...vals, 19.5, 19.6, 29.3].map(Math.fround)).sort();
    const xs: number[] = [];
    const ws: number[] = [];
    for (const x of sorted) {
      if (xs.length && xs[xs.length - 1] === x) ws[ws.length - 1]++;
      else {
        xs.push(x);
        ws.push(1);
      }
    }
    const X = Float64Array.from(xs);
    const W = Float64Array.from(ws);
    expect(X.length).toBeGreaterThan(65536);
    const exact = kmeans1d(X, W, 256);
    const fast = kmeansOptimal(X, W, 256);
    expect(fast.cost).toBeLessThanOrEqual(exact.cost * (1 + 1e-4));
    for (const v of [19.5, 19.6, 29.3]) expect(Math.min(...Array.from(fast.centers, (c) => Math.abs(c - Math.fround(v))))).toBeLessThan(1e-6);
  });
});

describe('palettization', () => {
  it('LUT has 2^nbits slots per group, indices < 2^nbits, each element decodes to its nearest LUT entry', () => {
    fc.assert(
      fc.property(tensorArb(), fc.constantFrom(1, 2, 3, 4, 6, 8), fc.constantFrom<'kmeans' | 'uniform'>('kmeans', 'uniform'), (t, nbits, mode) => {
        const r = palettize(t, palettizerConfig({ mode, nbits }), ctx) as LutRepr;
        expect('skip' in r).toBe(false);
        expect(r.lut.length).toBe(1 << nbits);
        expect(r.lutShape).toEqual([...t.shape.map(() => 1), 1 << nbits, 1]);
        for (const i of r.indices) expect(i).toBeLessThan(1 << nbits);
        const dec = decompress(r);
        const w = valuesOf(t);
        const used = new Set(Array.from(r.indices, (i) => r.lut[i]));
        const err = w.map((x, i) => Math.abs(x - dec[i]));
        if (mode === 'kmeans') {
          for (let i = 0; i < w.length; i++) for (const u of used) expect(err[i]).toBeLessThanOrEqual(Math.abs(w[i] - u) + 1e-12);
        } else {
          const mn = Math.min(...w);
          const mx = Math.max(...w);
          const step = (mx - mn) / ((1 << nbits) - 1);
          const slack = t.dtype === 'fp16' ? 2 ** -10 * Math.max(Math.abs(mn), Math.abs(mx)) * 2 : 1e-6 * (Math.abs(mn) + Math.abs(mx));
          for (const e of err) expect(e).toBeLessThanOrEqual(step / 2 + slack + 1e-12);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('per-tensor results do not depend on the channel axis (matmul weights have it last)', () => {
    fc.assert(
      fc.property(tensorArb(), fc.constantFrom<'kmeans' | 'uniform'>('kmeans', 'uniform'), (t, mode) => {
        const a = palettize(t, palettizerConfig({ mode, nbits: 2 }), ctx) as LutRepr;
        const b = palettize(t, palettizerConfig({ mode, nbits: 2 }), { outputAxis: t.shape.length - 1, inputAxis: 0 }) as LutRepr;
        expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
        expect(Array.from(b.lut)).toEqual(Array.from(a.lut));
      }),
      { numRuns: 60 },
    );
  });

  it('k-means SSE is never worse than the uniform LUT on the same tensor', () => {
    fc.assert(
      fc.property(tensorArb(), fc.constantFrom(1, 2, 4), (t, nbits) => {
        const k = palettize(t, palettizerConfig({ mode: 'kmeans', nbits }), ctx) as LutRepr;
        const u = palettize(t, palettizerConfig({ mode: 'uniform', nbits }), ctx) as LutRepr;
        // k-means means are rounded to the dtype: allow that rounding
        const w = valuesOf(t);
        const amp = Math.max(...w.map(Math.abs));
        const slack = w.length * (t.dtype === 'fp16' ? (amp * 2 ** -10) ** 2 * 4 + amp * amp * 2 ** -9 : amp * amp * 1e-6);
        expect(sse(t, k)).toBeLessThanOrEqual(sse(t, u) + slack);
      }),
      { numRuns: 80 },
    );
  });

  it('unique mode is lossless with the smallest nbits that fits', () => {
    fc.assert(
      fc.property(tensorArb(undefined), (t) => {
        const distinct = new Set(valuesOf(t).map((v) => (v === 0 ? 0 : v))).size;
        const r = palettize(t, palettizerConfig({ mode: 'unique' }), ctx);
        if (distinct > 256) {
          expect('skip' in r).toBe(true);
          return;
        }
        const lr = r as LutRepr;
        expect(lr.nbits).toBe([1, 2, 3, 4, 6, 8].find((b) => distinct <= 1 << b));
        expect(Array.from(decompress(lr))).toEqual(valuesOf(t).map((v) => (v === 0 ? 0 : v)));
      }),
      { numRuns: 80 },
    );
  });

  it('grouped LUTs: one LUT per group of channels; indivisible group sizes are skipped with a reason', () => {
    fc.assert(
      fc.property(tensorArb('fp16'), fc.integer({ min: 1, max: 4 }), (t, gs) => {
        const r = palettize(t, palettizerConfig({ nbits: 2, granularity: 'per_grouped_channel', group_size: gs }), ctx);
        if (t.shape[0] % gs !== 0) {
          expect((r as { skip: string }).skip).toMatch(/not divisible by group_size/);
          return;
        }
        const lr = r as LutRepr;
        expect(lr.lutShape[0]).toBe(t.shape[0] / gs);
        expect(lr.lut.length).toBe((t.shape[0] / gs) * 4);
        expect(decompress(lr).length).toBe(t.data.length);
      }),
      { numRuns: 80 },
    );
  });

  it('vector LUTs: indices shape divides the channel axis by cluster_dim, decode has the dense shape', () => {
    fc.assert(
      fc.property(tensorArb('fp32', 2), fc.constantFrom(2, 4), (t, V) => {
        const r = palettize(t, palettizerConfig({ nbits: 2, cluster_dim: V }), ctx);
        if (t.shape[0] % V !== 0) {
          expect('skip' in r).toBe(true);
          return;
        }
        const lr = r as LutRepr;
        expect(lr.indicesShape).toEqual([t.shape[0] / V, ...t.shape.slice(1)]);
        expect(lr.lutShape.slice(-2)).toEqual([4, V]);
        expect(lr.vectorAxis).toBe(0);
        const dec = decompress(lr);
        expect(dec.length).toBe(t.data.length);
        // every decoded vector is one of the LUT vectors
        const vecs = new Set<string>();
        for (let k = 0; k < 4; k++) vecs.add(Array.from(lr.lut.subarray(k * V, k * V + V)).join());
        const inner = t.shape.slice(1).reduce((a, b) => a * b, 1);
        for (let cv = 0; cv < t.shape[0] / V; cv++)
          for (let r0 = 0; r0 < inner; r0++) {
            const v = Array.from({ length: V }, (_, j) => dec[(cv * V + j) * inner + r0]);
            expect(vecs.has(v.join())).toBe(true);
          }
      }),
      { numRuns: 40 },
    );
  });

  it('per-channel scale: scale shape has 1 at the output axis, decode error is bounded like the unscaled one', () => {
    fc.assert(
      fc.property(tensorArb('fp16'), (t) => {
        const r = palettize(t, palettizerConfig({ nbits: 8, enable_per_channel_scale: true }), ctx) as LutRepr;
        expect(r.perChannelScale!.shape).toEqual([1, ...t.shape.slice(1)]);
        const dec = decompress(r);
        const w = valuesOf(t);
        const amp = Math.max(1e-9, ...w.map(Math.abs));
        for (let i = 0; i < w.length; i++) expect(Math.abs(w[i] - dec[i])).toBeLessThanOrEqual(amp * 0.02);
      }),
      { numRuns: 60 },
    );
  });
});

/** Reference: coremltools' formula with every quotient rounded exactly (no fast path). */
function refCodes(t: DenseTensor, r: AffineRepr): number[] {
  const out: number[] = [];
  const w = valuesOf(t);
  const rd = t.dtype === 'fp16' ? r16 : Math.fround;
  const [qmin, qmax] = quantRange(r.qdtype, r.offset && r.qdtype.startsWith('int') ? 'linear' : 'linear_symmetric');
  void qmin;
  void qmax;
  const grid = r.scaleShape;
  const shape = t.shape;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const gstr = grid.map((_, d) => grid.slice(d + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < w.length; i++) {
    let b = 0;
    for (let d = 0; d < shape.length; d++) {
      const id = Math.floor(i / strides[d]) % shape[d];
      b += Math.floor(id / (shape[d] / grid[d])) * gstr[d];
    }
    const sc = r.scale[b];
    const z = r.offset ? r.offset[b] : 0;
    out.push(sc === 0 ? z : rhe(rd(w[i] / sc)) + z);
  }
  return out;
}

describe('linear quantization', () => {
  it('codes equal the exact coremltools formula (fast path included), error ≤ scale/2 (+ dtype rounding)', () => {
    fc.assert(
      fc.property(
        tensorArb(),
        fc.constantFrom<'int8' | 'uint8' | 'int4' | 'uint4'>('int8', 'uint8', 'int4', 'uint4'),
        fc.constantFrom<'linear_symmetric' | 'linear'>('linear_symmetric', 'linear'),
        fc.constantFrom<'per_tensor' | 'per_channel'>('per_tensor', 'per_channel'),
        (t, dtype, mode, granularity) => {
          const r = quantize(t, linearQuantizerConfig({ dtype, mode, granularity }), ctx) as AffineRepr;
          const [qmin, qmax] = quantRange(dtype, mode);
          const ref = refCodes(t, r).map((q) => Math.min(qmax, Math.max(qmin, q)));
          expect(Array.from(r.data)).toEqual(ref);
          expect(r.scaleShape).toEqual(granularity === 'per_channel' ? [t.shape[0], ...t.shape.slice(1).map(() => 1)] : t.shape.map(() => 1));
          const dec = decompress(r);
          const w = valuesOf(t);
          // coremltools computes the zero point in fp16: qmax * min overflows fp16 past 65504 (a faithful quirk)
          if (t.dtype === 'fp16' && mode === 'linear' && Math.max(...w.map(Math.abs)) * 255 >= 65504) return;
          const ulp = (x: number) => (t.dtype === 'fp16' ? Math.abs(x) * 2 ** -10 + 2 ** -24 : Math.abs(x) * 2 ** -23);
          for (let i = 0; i < w.length; i++) {
            const sc = r.scale.length === 1 ? r.scale[0] : r.scale[Math.floor(i / (w.length / t.shape[0]))];
            expect(Math.abs(w[i] - dec[i])).toBeLessThanOrEqual(sc / 2 + 2 * ulp(w[i]) + 2 * ulp(sc) * 128 + 1e-12);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('per_block: scale shape [C_out, C_in / b, 1...]; indivisible blocks are skipped with a reason', () => {
    fc.assert(
      fc.property(tensorArb('fp16'), fc.integer({ min: 1, max: 4 }), (t, b) => {
        const r = quantize(t, linearQuantizerConfig({ dtype: 'int4', granularity: 'per_block', block_size: b }), ctx);
        if (t.shape[1] % b !== 0) {
          expect((r as { skip: string }).skip).toMatch(/not divisible by block size/);
          return;
        }
        const ar = r as AffineRepr;
        expect(ar.scaleShape).toEqual([t.shape[0], t.shape[1] / b, ...t.shape.slice(2).map(() => 1)]);
        for (const q of ar.data) expect(q >= -7 && q <= 7).toBe(true);
      }),
      { numRuns: 80 },
    );
  });
});

describe('linear quantization, exhaustive over fp16', () => {
  it('the fast path equals the exact fp16 formula for every fp16 value, at many scales and modes', () => {
    const finite: number[] = [];
    for (let h = 0; h < 65536; h++) if ((h & 0x7c00) !== 0x7c00) finite.push(h);
    for (const limit of [0x2e66, 0x3c00, 0x4500, 0x1800, 0x5800]) {
      // every finite fp16 value with |w| <= fp16(limit), so the scale is set by limit
      const sel = finite.filter((h) => (h & 0x7fff) <= limit);
      const t: DenseTensor = { dtype: 'fp16', shape: [1, sel.length], data: Uint16Array.from(sel) };
      for (const [mode, dtype] of [
        ['linear_symmetric', 'int8'],
        ['linear', 'uint8'],
        ['linear_symmetric', 'uint4'],
        ['linear', 'int4'],
      ] as const) {
        const r = quantize(t, linearQuantizerConfig({ mode, dtype, granularity: 'per_tensor' }), ctx) as AffineRepr;
        const [qmin, qmax] = quantRange(dtype, mode);
        const sc = r.scale[0];
        const z = r.offset ? r.offset[0] : 0;
        for (let i = 0; i < sel.length; i++) {
          const want = Math.min(qmax, Math.max(qmin, rhe(r16(F16_TABLE[sel[i]] / sc)) + z));
          if (r.data[i] !== want) expect(`${mode} ${dtype} limit ${limit} bits ${sel[i]}: ${r.data[i]}`).toBe(`${want}`);
        }
      }
    }
  });
});

describe('linear quantization, symmetric threshold paths', () => {
  it('per-channel codes equal the exact fp16 formula at 400 channel scales (small and wide magnitude ranges)', () => {
    // rows of 600 or 4096 magnitudes spread over [0, L] (both signs, L included), one scale per row: each
    // scale's code table (symmetric.ts) is filled from its thresholds up to the row's max, over small and wide
    // ranges of patterns
    for (const [cols, lo, hi] of [
      [4096, 0x0001, 0x2fff],
      [600, 0x1800, 0x7bff],
    ] as const) {
      const rows = 200;
      const data = new Uint16Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const L = lo + Math.floor(((hi - lo) * r) / (rows - 1));
        for (let j = 0; j < cols; j++) data[r * cols + j] = Math.round((L * j) / (cols - 1)) | (j % 2 ? 0x8000 : 0);
      }
      const t: DenseTensor = { dtype: 'fp16', shape: [rows, cols], data };
      for (const dtype of ['int8', 'int4'] as const) {
        const r = quantize(t, linearQuantizerConfig({ mode: 'linear_symmetric', dtype, granularity: 'per_channel' }), ctx) as AffineRepr;
        const [qmin, qmax] = quantRange(dtype, 'linear_symmetric');
        let bad = 0;
        for (let i = 0; i < data.length; i++) {
          const sc = r.scale[Math.floor(i / cols)];
          const want = sc === 0 ? 0 : Math.min(qmax, Math.max(qmin, rhe(r16(F16_TABLE[data[i]] / sc))));
          if (r.data[i] !== want && bad++ < 5) expect(`${dtype} row ${Math.floor(i / cols)} bits ${data[i]}: ${r.data[i]}`).toBe(`${want}`);
        }
        expect(bad).toBe(0);
      }
    }
  });
});

describe('linear quantization, per-axis block_size list', () => {
  it('uses the list as given (0 = whole axis) and skips lists of the wrong rank', () => {
    const t: DenseTensor = { dtype: 'fp32', shape: [4, 6, 2], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i) * 0.1) };
    const r = quantize(t, linearQuantizerConfig({ granularity: 'per_block', block_size: [2, 3, 0] }), ctx) as AffineRepr;
    expect(r.scaleShape).toEqual([2, 2, 1]);
    // each scale is max|w| of its [2, 3, 2] block / 127
    for (let b0 = 0; b0 < 2; b0++)
      for (let b1 = 0; b1 < 2; b1++) {
        let m = 0;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) m = Math.max(m, Math.abs(t.data[((b0 * 2 + i) * 6 + b1 * 3 + j) * 2 + k]));
        expect(r.scale[b0 * 2 + b1]).toBe(Math.fround(Math.fround(2 * m) / 254));
      }
    expect((quantize(t, linearQuantizerConfig({ granularity: 'per_block', block_size: [2, 3] }), ctx) as { skip: string }).skip).toMatch(/rank 3/);
    expect((quantize(t, linearQuantizerConfig({ granularity: 'per_block', block_size: [3, 0, 0] }), ctx) as { skip: string }).skip).toMatch(/not divisible/);
  });
});

describe('pruning', () => {
  it('magnitude: every pruned |w| ≤ every kept |w|, sparsity reaches the target (ties at the threshold all pruned)', () => {
    fc.assert(
      fc.property(tensorArb(), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (t, s) => {
        const r = pruneMagnitude(t, magnitudePrunerConfig({ target_sparsity: s })) as SparseRepr;
        const w = valuesOf(t);
        const n = w.length;
        let maxPruned = -1;
        let minKept = Infinity;
        let zeros = 0;
        for (let i = 0; i < n; i++) {
          if (r.mask[i]) minKept = Math.min(minKept, Math.abs(w[i]));
          else {
            maxPruned = Math.max(maxPruned, Math.abs(w[i]));
            zeros++;
          }
        }
        expect(maxPruned).toBeLessThanOrEqual(minKept);
        expect(zeros).toBeGreaterThanOrEqual(Math.floor(s * (n - 1)) + 1);
        expect(r.values.length).toBe(n - zeros);
        // decompress restores the kept values exactly
        const dec = decompress(r);
        for (let i = 0; i < n; i++) expect(dec[i]).toBe(r.mask[i] ? w[i] : 0);
      }),
      { numRuns: 150 },
    );
  });

  it('n:m: each group of m along dim has at least n zeros and the pruned are the smallest', () => {
    fc.assert(
      fc.property(tensorArb(undefined, 2), fc.constantFrom<[number, number]>([1, 2], [2, 4], [1, 3]), fc.constantFrom(0, 1), (t, nm, dim) => {
        const r = pruneMagnitude(t, magnitudePrunerConfig({ n_m_ratio: nm, dim }));
        const C = t.shape[dim];
        if (nm[1] > C / 2) {
          expect((r as { skip: string }).skip).toMatch(/not applicable/);
          return;
        }
        const sp = r as SparseRepr;
        const w = valuesOf(t);
        const outer = t.shape.slice(0, dim).reduce((a, b) => a * b, 1);
        const inner = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
        for (let o = 0; o < outer; o++)
          for (let k = 0; k < inner; k++)
            for (let c0 = 0; c0 + nm[1] <= C; c0 += nm[1]) {
              const idx = Array.from({ length: nm[1] }, (_, j) => (o * C + c0 + j) * inner + k);
              const zeros = idx.filter((i) => !sp.mask[i]);
              expect(zeros.length).toBeGreaterThanOrEqual(nm[0]);
              const kept = idx.filter((i) => sp.mask[i]).map((i) => Math.abs(w[i]));
              const pruned = zeros.map((i) => Math.abs(w[i]));
              if (kept.length) expect(Math.max(...pruned)).toBeLessThanOrEqual(Math.min(...kept));
            }
      }),
      { numRuns: 100 },
    );
  });

  it('threshold: zeros every |w| ≤ t, or skips with the sparsity it reached', () => {
    fc.assert(
      fc.property(tensorArb('fp32'), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (t, thr, minS) => {
        const r = pruneThreshold(t, thresholdPrunerConfig({ threshold: thr, minimum_sparsity_percentile: minS }));
        const w = valuesOf(t);
        const zeros = w.filter((x) => Math.abs(x) <= Math.fround(thr)).length;
        if (zeros / w.length < minS) expect((r as { skip: string }).skip).toMatch(/below minimum_sparsity_percentile/);
        else expect((r as SparseRepr).values.length).toBe(w.length - zeros);
      }),
      { numRuns: 100 },
    );
  });
});

describe('joint', () => {
  it('prune → palettize keeps the mask, one index per nonzero; prune → quantize one code per nonzero', () => {
    fc.assert(
      fc.property(tensorArb('fp16'), (t) => {
        const sp = pruneMagnitude(t, magnitudePrunerConfig({ target_sparsity: 0.5 })) as SparseRepr;
        const pl = prunePalettize(t, sp, palettizerConfig({ nbits: 2 }), ctx) as SparseRepr;
        expect(pl.inner!.kind).toBe('lut');
        expect((pl.inner as LutRepr).indices.length).toBe(sp.values.length);
        const dec = decompress(pl);
        for (let i = 0; i < sp.mask.length; i++) if (!sp.mask[i]) expect(dec[i]).toBe(0);
        const pq = pruneQuantize(t, sp, linearQuantizerConfig({}), ctx) as SparseRepr;
        expect((pq.inner as AffineRepr).data.length).toBe(sp.values.length);
        expect(Array.from(decompress(pq))).toEqual(Array.from(pq.mask, (m, i) => (m ? decompress(pq)[i] : 0)));
      }),
      { numRuns: 40 },
    );
  });

  it('palettize → int8 LUT: the LUT codes fit int8 and SSE stays close to the float LUT', () => {
    fc.assert(
      fc.property(tensorArb('fp16'), (t) => {
        const r = palettize(t, palettizerConfig({ nbits: 4 }), ctx) as LutRepr;
        const q = quantizeLut(r, { mode: 'linear_symmetric', dtype: 'int8' }, t) as LutRepr;
        for (const c of q.lutQuant!.data) expect(c >= -127 && c <= 127).toBe(true);
        const w = valuesOf(t);
        const amp = Math.max(...w.map(Math.abs));
        const step = (amp / 127) * 1.01 + amp * 2 ** -10;
        expect(sse(t, q)).toBeLessThanOrEqual(sse(t, r) + w.length * step * step + 1e-12);
      }),
      { numRuns: 40 },
    );
  });
});

describe('metrics', () => {
  it('long fp16 runs (one code table per tensor): codes equal the exact formula, statistics equal those from decoding', () => {
    const n = 1 << 18; // a per-tensor run this long: one group, one code table over every bit pattern present
    let seed = 5;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const bits = new Uint16Array(n);
    for (let i = 0; i < n; i++) bits[i] = f32ToF16((rnd() - 0.5) * (i % 9 === 0 ? 0 : 0.1) + (i % 5 === 0 ? 0.01 : 0));
    const t: DenseTensor = { dtype: 'fp16', shape: [512, 512], data: bits };
    for (const [mode, dtype] of [
      ['linear_symmetric', 'int8'],
      ['linear', 'uint8'],
      ['linear_symmetric', 'uint4'],
      ['linear', 'int4'],
    ] as const) {
      const r = quantize(t, linearQuantizerConfig({ mode, dtype, granularity: 'per_tensor' }), ctx) as AffineRepr;
      const [qmin, qmax] = quantRange(dtype, mode);
      const sc = r.scale[0];
      const z = r.offset ? r.offset[0] : 0;
      let bad = 0;
      for (let i = 0; i < n; i++) if (r.data[i] !== Math.min(qmax, Math.max(qmin, rhe(r16(F16_TABLE[bits[i]] / sc)) + z))) bad++;
      expect(bad).toBe(0);
      const fused = computeMetrics(t, r);
      const plain = computeMetrics(t, { ...r });
      expect(fused.mse).toBeCloseTo(plain.mse, 14);
      expect(fused.maxAbsErr).toBe(plain.maxAbsErr);
      expect(fused.sparsity).toBe(plain.sparsity);
      expect(fused.distinct).toBe(plain.distinct);
      expect(fused.snrDb).toBeCloseTo(plain.snrDb, 8);
    }
  });

  it('a scale that overflows fp16 (|w| near 65504) decodes code 0 to NaN, as numpy does, in every path', () => {
    for (const [shape, granularity] of [
      [[512, 512], 'per_tensor'],
      [[4, 8], 'per_channel'],
      [[4, 8], 'per_tensor'],
    ] as const) {
      const n = shape[0] * shape[1];
      const bits = new Uint16Array(n);
      for (let i = 0; i < n; i++) bits[i] = f32ToF16(i % 3 === 0 ? 65504 : (i % 7) - 3);
      const t: DenseTensor = { dtype: 'fp16', shape: shape.slice(), data: bits };
      const r = quantize(t, linearQuantizerConfig({ granularity }), ctx) as AffineRepr;
      expect(r.scale[0]).toBe(Infinity);
      const fused = computeMetrics(t, r);
      const plain = computeMetrics(t, { ...r });
      expect(Number.isNaN(plain.mse)).toBe(true);
      expect(Number.isNaN(fused.mse)).toBe(true);
      expect(fused.distinct).toBe(plain.distinct);
    }
  });

  it('statistics fused into the kernels equal the ones computed by decoding', () => {
    fc.assert(
      fc.property(tensorArb(), fc.double({ min: 0.05, max: 0.95, noNaN: true }), (t, sp) => {
        const reprs = [
          quantize(t, linearQuantizerConfig({ granularity: 'per_channel' }), ctx),
          quantize(t, linearQuantizerConfig({ mode: 'linear', dtype: 'uint4', granularity: 'per_tensor' }), ctx),
          pruneMagnitude(t, magnitudePrunerConfig({ target_sparsity: sp })),
          palettize(t, palettizerConfig({ nbits: 3 }), ctx),
          palettize(t, palettizerConfig({ mode: 'uniform', nbits: 2 }), ctx),
        ];
        for (const r of reprs) {
          if ('skip' in r) continue;
          const fused = computeMetrics(t, r);
          const plain = computeMetrics(t, { ...r }); // a copy carries no fused statistics
          expect(fused.mse).toBeCloseTo(plain.mse, 14);
          expect(fused.maxAbsErr).toBe(plain.maxAbsErr);
          expect(fused.sparsity).toBeCloseTo(plain.sparsity, 14);
          expect(fused.distinct).toBe(plain.distinct);
          if (Number.isFinite(plain.snrDb)) expect(fused.snrDb).toBeCloseTo(plain.snrDb, 8);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('bytes: packed codes + LUT / scales / masks; MSE matches a direct computation', () => {
    fc.assert(
      fc.property(tensorArb(), (t) => {
        const n = t.data.length;
        const b = t.dtype === 'fp16' ? 2 : 4;
        const lut = palettize(t, palettizerConfig({ nbits: 3 }), ctx) as LutRepr;
        const m = computeMetrics(t, lut);
        expect(m.bytesBefore).toBe(n * b);
        expect(m.bytesAfter).toBe(Math.ceil((n * 3) / 8) + 8 * b);
        const dec = decompress(lut);
        const w = valuesOf(t);
        const mse = w.reduce((a, x, i) => a + (x - dec[i]) ** 2, 0) / n;
        expect(m.mse).toBeCloseTo(mse, 12);
        expect(m.distinct).toBe(new Set(Array.from(dec, (v) => (v === 0 ? 0 : v))).size);
        const q = quantize(t, linearQuantizerConfig({ granularity: 'per_channel' }), ctx) as AffineRepr;
        expect(computeMetrics(t, q).bytesAfter).toBe(n + t.shape[0] * b);
        const sp = pruneMagnitude(t, magnitudePrunerConfig({ target_sparsity: 0.5 })) as SparseRepr;
        const ms = computeMetrics(t, sp);
        expect(ms.bytesAfter).toBe(Math.ceil(n / 8) + sp.values.length * b);
        expect(ms.sparsity).toBeCloseTo(1 - sp.values.length / n, 12);
      }),
      { numRuns: 60 },
    );
  });
});
