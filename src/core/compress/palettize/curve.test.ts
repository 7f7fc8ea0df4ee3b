import { describe, expect, it } from 'vitest';
import { palettizeCurve } from './curve';
import { palettizerConfig } from './options';
import { compressJob, type Job } from '../../engine/job';
import { f32ToF16 } from '../../tensor/fp16';
import type { DenseTensor } from '../../model/types';
import type { WeightResult } from '../types';
import { loadModel } from '../../formats';
import { pathTree } from '../../../node/fs-tree';
import { fixture } from '../../../../tests/fixtures';
import { mulberry32 as rng } from '../../tensor/random';

const BITS = [1, 2, 3, 4, 6, 8];

function engine(dense: DenseTensor, nbits: number): WeightResult {
  const n = dense.data.length;
  const job: Job = {
    id: 'w',
    name: 'w',
    dtype: dense.dtype,
    shape: dense.shape,
    target: 'iOS18',
    ctx: { outputAxis: 0, inputAxis: 1 },
    steps: [palettizerConfig({ mode: 'kmeans', nbits, granularity: 'per_tensor', weight_threshold: 0 })],
    structuredOk: true,
    convGroups: 1,
    bytesBefore: n * (dense.dtype === 'fp16' ? 2 : 4),
    label: 'pal',
  };
  const r = compressJob(dense, job);
  expect(r.status).toBe('compressed');
  return r;
}


function randomTensor(dtype: 'fp16' | 'fp32', shape: number[], seed: number, levels = 0): DenseTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const val = () => {
    const g = Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r()) * 0.05;
    // a few outliers and exact zeros, as real weights have
    const u = r();
    const x = u < 0.01 ? g * 20 : u < 0.05 ? 0 : g;
    return levels ? Math.round(x * levels) / levels : x;
  };
  if (dtype === 'fp16') {
    const d = new Uint16Array(n);
    for (let i = 0; i < n; i++) d[i] = f32ToF16(val());
    return { dtype, shape, data: d };
  }
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.fround(val());
  return { dtype, shape, data: d };
}

/** Every number of the curve against the engine's result at that nbits. */
function expectSame(dense: DenseTensor, exactSse: boolean): void {
  const curve = palettizeCurve(dense, BITS);
  expect(curve.map((p) => p.nbits)).toEqual(BITS);
  const n = dense.data.length;
  for (const p of curve) {
    const r = engine(dense, p.nbits);
    expect(p.bytes, `bytes at ${p.nbits} bits`).toBe(r.bytesAfter);
    const engineSse = r.mse * n;
    if (exactSse) {
      expect(p.mse, `mse at ${p.nbits} bits`).toBe(r.mse);
      expect(p.snrDb, `SNR at ${p.nbits} bits`).toBe(r.snrDb);
    } else {
      // fp32: the engine sums errors element by element, the curve per distinct value: same terms, other order
      expect(Math.abs(p.sse - engineSse)).toBeLessThanOrEqual(1e-9 * engineSse + 1e-300);
      if (Number.isFinite(r.snrDb)) expect(p.snrDb).toBeCloseTo(r.snrDb, 9);
      else expect(p.snrDb).toBe(r.snrDb);
    }
    expect(p.maxAbsErr, `max |err| at ${p.nbits} bits`).toBe(r.maxAbsErr);
    expect(p.sparsity).toBe(r.sparsity);
    expect(p.distinct).toBe(r.distinct);
  }
}

describe('palettizeCurve', () => {
  it('fp16, large tensor (the engine fuses its statistics): identical numbers at every nbits', () => {
    expectSame(randomTensor('fp16', [128, 256], 1), true);
  });
  it('fp16, small tensor (sorted histogram in the engine): identical numbers', () => {
    expectSame(randomTensor('fp16', [24, 3, 3, 3], 2), true);
  });
  it('fp16 with fewer distinct values than 2^nbits: zero error where the LUT holds them all', () => {
    const d = randomTensor('fp16', [64, 40], 3, 20);
    expectSame(d, true);
    const c = palettizeCurve(d, [8]);
    expect(c[0].sse).toBe(0);
    expect(c[0].snrDb).toBe(Infinity);
  });
  it('fp32 tensors: same SSE (up to summation order), bytes, max error and distinct values', () => {
    expectSame(randomTensor('fp32', [96, 64], 4), false);
    expectSame(randomTensor('fp32', [7, 5], 5), false);
  });
  it('fp32 with more distinct values than the exact k-means limit', () => {
    expectSame(randomTensor('fp32', [280, 256], 6), false);
  });
  it('SSE falls as nbits grows, bytes follow indices + LUT', () => {
    const d = randomTensor('fp16', [64, 64], 7);
    const c = palettizeCurve(d, BITS);
    for (let i = 1; i < c.length; i++) expect(c[i].sse).toBeLessThan(c[i - 1].sse);
    expect(c.find((p) => p.nbits === 3)!.bytes).toBe(Math.ceil((4096 * 3) / 8) + 8 * 2);
  });
  it('a fixture weight: base_ios16 linear and conv weights (fp16), DTLN Part1 (fp32)', async () => {
    const m = await loadModel(pathTree(fixture('synthetic/base_ios16.mlpackage')));
    const big = m.weights.filter((w) => w.dtype === 'fp16' && w.count >= 2048);
    expect(big.length).toBeGreaterThan(0);
    for (const w of big) expectSame(await m.readDense(w.id), true);
    const p1 = await loadModel(pathTree(fixture('real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage')));
    // a mid-size fp32 weight (the biggest take seconds of exact k-means per bit width in the engine)
    const w = p1.weights.filter((x) => x.dtype === 'fp32' && !x.compression && x.count >= 4096).sort((a, b) => a.count - b.count)[0];
    expect(w).toBeDefined();
    expectSame(await p1.readDense(w.id), false);
  });
  it('rejects a bit width the format cannot store', () => {
    expect(() => palettizeCurve(randomTensor('fp16', [4, 4], 8), [9])).toThrow(RangeError);
  });
});
