/**
 * The fp16 table paths (symmetric.ts): exact thresholds, codes, scales and fused statistics on awkward inputs, for
 * signed symmetric codes (quantizeSymF16) and for every other mode / dtype (codesF16General).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import type { DenseTensor } from '../../model/types';
import type { AffineRepr } from '../types';
import { forEachRun, quantize, runBlocks } from './quantize';
import { linearQuantizerConfig, quantRange } from './options';
import { symThresholds } from './symmetric';
import { computeMetrics } from '../metrics';
import { rhe, r16 } from '../numeric';

const ctx = { outputAxis: 0, inputAxis: 1 };

/** coremltools' symmetric code of a magnitude pattern at scale sc: min(qmax, rhe(fp16(|w| / sc))). */
const code = (a: number, sc: number, qmax: number) => Math.min(qmax, rhe(r16(F16_TABLE[a] / sc)));

describe('symThresholds', () => {
  it('th[k] is the smallest magnitude pattern whose code reaches k, at every finite fp16 scale and at inf', () => {
    for (const qmax of [127, 7, 255]) {
      const th = new Int32Array(qmax + 2);
      let bad = 0;
      for (let s = 1; s <= 0x7c00; s++) {
        const sc = F16_TABLE[s];
        symThresholds(sc, qmax, th);
        for (let k = 1; k <= qmax; k++) {
          const t = th[k];
          // the code is monotonic in the pattern: code(t) >= k and code(t - 1) < k pin t down
          const ok =
            t >= th[k - 1] &&
            (t === 0x7c00 ? code(0x7bff, sc, qmax) < k : code(t, sc, qmax) >= k && (t === 0 || code(t - 1, sc, qmax) < k));
          if (!ok && bad++ < 3) expect(`qmax ${qmax} scale 0x${s.toString(16)} k ${k}: th ${t}`).toBe('exact');
        }
      }
      expect(bad).toBe(0);
    }
  });
});

describe('runBlocks', () => {
  it('lists the runs of forEachRun (same length, same blocks, in order)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 4 }), (dims) => {
        const shape = dims.map(([b, k]) => b * k);
        const grid = dims.map(([b]) => b);
        const want: number[] = [];
        let len = -1;
        forEachRun(shape, grid, (s, l, b) => {
          expect(s).toBe(want.length * l);
          len = l;
          want.push(b);
        });
        const rb = runBlocks(shape, grid);
        expect(rb.runLen).toBe(len);
        expect(Array.from(rb.blocks)).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Rows of mixed character: gaussian-like at several spreads, repeated maxima, zeros, -0, subnormals only, only
 * positive or only negative values.
 */
function awkwardRows(rows: number, cols: number, seed: number): number[] {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const kind = r % 9;
    for (let j = 0; j < cols; j++) {
      let h: number;
      if (kind === 0) h = 0; // all zero: scale 0
      else if (kind === 1) h = j % 3 === 0 ? 0x8000 : 1 + (j % 2); // -0 and the two smallest subnormals: the scale underflows to 0
      else if (kind === 2) h = f32ToF16((rnd() - 0.5) * 2 ** -14); // subnormal range
      else if (kind >= 7) h = f32ToF16((kind === 7 ? 1 : -1) * (0.001 + rnd() * 0.05));
      else {
        const spread = [0.02, 0.5, 300, 0.02][kind - 3];
        h = f32ToF16((rnd() + rnd() + rnd() - 1.5) * spread);
        if (j === 0) h = f32ToF16(spread); // rows 3 and 6 share their max: same scale, one group
      }
      out.push(h);
    }
  }
  return out;
}

/** fp16 data as a view at an odd 16-bit offset of its buffer (so 32-bit pairs straddle elements) or aligned. */
function f16Tensor(shape: number[], vals: number[], odd: boolean): DenseTensor {
  const buf = new Uint16Array(vals.length + 2);
  const data = buf.subarray(odd ? 1 : 2, (odd ? 1 : 2) + vals.length);
  data.set(vals);
  return { dtype: 'fp16', shape, data };
}

function checkExact(t: DenseTensor, r: AffineRepr, qmax: number): void {
  const bits = t.data as Uint16Array;
  const blockOf = new Int32Array(bits.length);
  forEachRun(t.shape, r.scaleShape, (s, len, b) => blockOf.fill(b, s, s + len));
  // scales: fp16(fp16(2 max|w|) / (2 qmax)) per block
  const amax = new Float64Array(r.scale.length);
  for (let i = 0; i < bits.length; i++) amax[blockOf[i]] = Math.max(amax[blockOf[i]], Math.abs(F16_TABLE[bits[i]]));
  for (let b = 0; b < r.scale.length; b++) expect(r.scale[b]).toBe(r16(r16(2 * amax[b]) / (2 * qmax)));
  let bad = 0;
  for (let i = 0; i < bits.length; i++) {
    const sc = r.scale[blockOf[i]];
    const w = F16_TABLE[bits[i]];
    const want = sc === 0 ? 0 : Math.min(qmax, Math.max(-qmax, rhe(r16(w / sc))));
    if (r.data[i] !== want && bad++ < 3) expect(`element ${i} (bits ${bits[i]}, scale ${sc}): ${r.data[i]}`).toBe(`${want}`);
  }
  expect(bad).toBe(0);
}

describe('symmetric fp16 quantization', () => {
  it('codes and scales equal the exact formula; fused statistics equal the decoded ones', () => {
    for (const odd of [false, true])
      for (const [shape, granularity, block] of [
        [[21, 1031], 'per_channel', 0], // odd run length: runs start on both halves of a 32-bit word
        [[14, 600], 'per_channel', 0],
        [[14, 3, 5, 5], 'per_channel', 0],
        [[7, 96], 'per_block', 8],
        [[7, 96], 'per_block', 3],
        [[21, 1031], 'per_tensor', 0],
      ] as const)
        for (const dtype of ['int8', 'int4'] as const) {
          const n = shape.reduce((a, b) => a * b, 1);
          const t = f16Tensor(shape.slice(), awkwardRows(shape[0], n / shape[0], 7 + n), odd);
          const r = quantize(t, linearQuantizerConfig({ dtype, granularity, block_size: block }), ctx) as AffineRepr;
          expect('skip' in r).toBe(false);
          expect(r.offset).toBeUndefined();
          checkExact(t, r, quantRange(dtype, 'linear_symmetric')[1]);
          const fused = computeMetrics(t, r);
          const plain = computeMetrics(t, { ...r }); // a copy carries no fused statistics: decoded and summed in order
          // the fused sums of squares add in pairs and per scale group, not in element order: equal up to
          // float64 rounding (a sum of n terms is exact to ~n · 2^-53 relative; 1e-12 covers n up to 10^4 · 4)
          expect(Math.abs(fused.mse - plain.mse)).toBeLessThanOrEqual(1e-12 * plain.mse);
          expect(Math.abs(fused.snrDb - plain.snrDb)).toBeLessThanOrEqual(1e-10);
          expect(fused.maxAbsErr).toBe(plain.maxAbsErr);
          expect(fused.sparsity).toBe(plain.sparsity);
          expect(fused.distinct).toBe(plain.distinct);
        }
  });

  it('a scale that overflows to inf decodes code 0 to NaN (as numpy); inf in the weight skips it', () => {
    const vals = awkwardRows(7, 64, 3);
    for (let j = 0; j < 64; j++) vals[64 * 4 + j] = f32ToF16(j % 2 ? 65504 : -3);
    const t = f16Tensor([7, 64], vals, true);
    const r = quantize(t, linearQuantizerConfig({}), ctx) as AffineRepr;
    expect(r.scale[4]).toBe(Infinity);
    checkExact(t, r, 127);
    const fused = computeMetrics(t, r);
    const plain = computeMetrics(t, { ...r });
    expect(Number.isNaN(fused.mse) && Number.isNaN(plain.mse)).toBe(true);
    expect(fused.maxAbsErr).toBe(plain.maxAbsErr);
    expect(fused.sparsity).toBe(plain.sparsity); // a code decoding to NaN is not a zero
    expect(fused.distinct).toBe(plain.distinct);
    vals[5] = 0x7c00;
    expect((quantize(f16Tensor([7, 64], vals, false), linearQuantizerConfig({}), ctx) as { skip: string }).skip).toMatch(/inf or NaN/);
  });

  it('other modes and dtypes: codes equal clip(rhe(fp16(w / scale)) + zero point); fused statistics equal the decoded ones', () => {
    for (const odd of [false, true])
      for (const [shape, granularity, block] of [
        [[27, 1031], 'per_channel', 0],
        [[18, 3, 5, 5], 'per_channel', 0],
        [[9, 96], 'per_block', 8],
        [[27, 1031], 'per_tensor', 0],
      ] as const)
        for (const [mode, dtype] of [
          ['linear', 'int8'],
          ['linear', 'uint8'],
          ['linear', 'int4'],
          ['linear', 'uint4'],
          ['linear_symmetric', 'uint8'],
          ['linear_symmetric', 'uint4'],
        ] as const) {
          const n = shape.reduce((a, b) => a * b, 1);
          const t = f16Tensor(shape.slice(), awkwardRows(shape[0], n / shape[0], 5 + n), odd);
          const r = quantize(t, linearQuantizerConfig({ mode, dtype, granularity, block_size: block }), ctx) as AffineRepr;
          expect('skip' in r).toBe(false);
          const [qmin, qmax] = quantRange(dtype, mode);
          const bits = t.data as Uint16Array;
          let bad = 0;
          forEachRun(t.shape, r.scaleShape, (s, len, b) => {
            const sc = r.scale[b];
            const z = r.offset![b];
            for (let i = s; i < s + len; i++) {
              const want = sc === 0 ? z : Math.min(qmax, Math.max(qmin, rhe(r16(F16_TABLE[bits[i]] / sc)) + z));
              if (r.data[i] !== want && bad++ < 3) expect(`${mode} ${dtype} element ${i} (bits ${bits[i]}, scale ${sc}, z ${z}): ${r.data[i]}`).toBe(`${want}`);
            }
          });
          expect(bad).toBe(0);
          const fused = computeMetrics(t, r);
          const plain = computeMetrics(t, { ...r });
          expect(Math.abs(fused.mse - plain.mse)).toBeLessThanOrEqual(1e-12 * plain.mse);
          expect(fused.maxAbsErr).toBe(plain.maxAbsErr);
          expect(fused.sparsity).toBe(plain.sparsity);
          expect(fused.distinct).toBe(plain.distinct);
        }
  });

  it('linear mode near the fp16 limit: the zero point quirk and an inf scale code and decode as numpy', () => {
    const vals = awkwardRows(9, 64, 9);
    for (let j = 0; j < 64; j++) vals[64 * 4 + j] = f32ToF16(j % 2 ? 65504 : -65504 + 32 * j);
    for (let j = 0; j < 64; j++) vals[64 * 5 + j] = f32ToF16(j % 2 ? 300 : -3);
    const t = f16Tensor([9, 64], vals, true);
    for (const dtype of ['uint8', 'int8'] as const) {
      const r = quantize(t, linearQuantizerConfig({ mode: 'linear', dtype }), ctx) as AffineRepr;
      expect(r.scale[4]).toBe(Infinity);
      const [qmin, qmax] = quantRange(dtype, 'linear');
      for (let i = 0; i < vals.length; i++) {
        const b = Math.floor(i / 64);
        const sc = r.scale[b];
        const z = r.offset![b];
        expect(r.data[i]).toBe(sc === 0 ? z : Math.min(qmax, Math.max(qmin, rhe(r16(F16_TABLE[vals[i]] / sc)) + z)));
      }
      const fused = computeMetrics(t, r);
      const plain = computeMetrics(t, { ...r });
      expect(Number.isNaN(fused.mse) && Number.isNaN(plain.mse)).toBe(true);
      expect(fused.maxAbsErr).toBe(plain.maxAbsErr);
      expect(fused.sparsity).toBe(plain.sparsity);
      expect(fused.distinct).toBe(plain.distinct);
    }
  });

  it('gives the same codes, scales and (up to rounding) statistics for an aligned and an unaligned copy of a tensor', () => {
    const vals = awkwardRows(35, 513, 11);
    const a = f16Tensor([35, 513], vals, false);
    const b = f16Tensor([35, 513], vals, true);
    const ra = quantize(a, linearQuantizerConfig({}), ctx) as AffineRepr;
    const rb = quantize(b, linearQuantizerConfig({}), ctx) as AffineRepr;
    expect(Array.from(rb.data)).toEqual(Array.from(ra.data));
    expect(Array.from(rb.scale)).toEqual(Array.from(ra.scale));
    const ma = computeMetrics(a, ra);
    const mb = computeMetrics(b, rb);
    expect(Math.abs(mb.mse - ma.mse)).toBeLessThanOrEqual(1e-12 * ma.mse); // pairs of other elements: other rounding
    expect({ ...mb, mse: 0, snrDb: 0 }).toEqual({ ...ma, mse: 0, snrDb: 0 });
  });
});
