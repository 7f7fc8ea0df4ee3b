import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readJson } from '../../../../tests/fixtures';
import { loadNN, sha256f32, sse } from '../../../../tests/nn/helpers';
import { readNeuralNetwork } from '../../formats/coreml/nn/read';
import { compressNN, nnSelect, toNNConfig, rhe, nnLinearToFloat32 } from './index';
import { histogram, kmeansCenters, sortedFloats } from './kmeans';
import { kmeans1d, sseNearest } from '../palettize/kmeans1d';
import type { Compressed, NNQuantizeConfig } from '../types';
import type { WeightInfo } from '../../model/types';

const INPUTS: Record<string, string[]> = {
  base_nn: ['synthetic', 'base_nn.mlmodel'],
  MNIST_CNN: ['real', 'coreml', 'MNIST_CNN.mlmodel'],
};

const configs = readJson('golden', 'configs.json').configs;

function cfgOf(id: string): NNQuantizeConfig {
  const a = configs[id].calls[0].args;
  return { type: 'NNQuantizeConfig', nbits: a.nbits, quantization_mode: a.quantization_mode };
}

function decompress(r: Compressed): Float32Array {
  switch (r.kind) {
    case 'dense':
      return r.values;
    case 'nnlinear':
      return nnLinearToFloat32(r);
    case 'lut':
      return Float32Array.from(r.indices, (i) => r.lut[i]);
    default:
      throw new Error(`unexpected ${r.kind}`);
  }
}

const DETERMINISTIC = ['nn-linear-8', 'nn-linear-4', 'nn-linear-sym-8', 'nn-fp16', 'nn-linear-lut-2'];

describe('compressNN reproduces coremltools quantize_weights', () => {
  for (const [model, path] of Object.entries(INPUTS)) {
    const { nn } = loadNN(...path);
    const base = readNeuralNetwork(nn, 'nn', path[path.length - 1]);

    for (const id of DETERMINISTIC) {
      it(`${model} ${id}: same stored data, same decompressed sha256`, () => {
        const gPath = ['golden', model, `${id}.mlmodel`];
        const golden = readNeuralNetwork(loadNN(...gPath).nn, 'nn', gPath.join('/'));
        const gjson = readJson('golden', model, `${id}.json`);
        const cfg = cfgOf(id);
        for (const w of base.weights) {
          expect(nnSelect(w)).toBe(true);
          const mine = compressNN(base.readDense(w.id), w, cfg);
          const theirs = golden.readRepr(w.id);
          expect(mine.kind, w.name).toBe(theirs.kind);
          expect(mine.shape).toEqual(theirs.shape);
          if (mine.kind === 'nnlinear' && theirs.kind === 'nnlinear') {
            expect(mine.nbits).toBe(theirs.nbits);
            expect(Array.from(mine.scale), `${w.name} scale`).toEqual(Array.from(theirs.scale));
            expect(Array.from(mine.bias), `${w.name} bias`).toEqual(Array.from(theirs.bias));
            expect(Buffer.from(mine.data).equals(Buffer.from(theirs.data)), `${w.name} codes`).toBe(true);
          } else if (mine.kind === 'lut' && theirs.kind === 'lut') {
            expect(mine.nbits).toBe(theirs.nbits);
            expect(Array.from(mine.lut), `${w.name} lut`).toEqual(Array.from(theirs.lut));
            expect(Buffer.from(mine.indices).equals(Buffer.from(theirs.indices)), `${w.name} indices`).toBe(true);
          } else if (mine.kind === 'dense' && theirs.kind === 'dense') {
            expect(mine.dtype).toBe('fp16');
            expect(theirs.dtype).toBe('fp16');
            expect(Buffer.from(mine.values.buffer).equals(Buffer.from(theirs.values.buffer))).toBe(true);
          } else throw new Error(`${w.name}: ${mine.kind} vs ${theirs.kind}`);
          const g = gjson.weights.find((x: any) => x.name === w.name);
          expect(sha256f32(decompress(mine)), `${w.name} sha256`).toBe(g.values.sha256_f32le);
        }
      });
    }

    it(`${model} nn-kmeans-4: SSE per weight within coremltools' (scikit-learn) SSE`, () => {
      const golden = configs['nn-kmeans-4'].applied_to[model].sse_by_weight;
      const cfg = cfgOf('nn-kmeans-4');
      expect(cfg.quantization_mode).toBe('kmeans');
      let better = 0;
      for (const w of base.weights) {
        const orig = base.readFloat32(w.id);
        const r = compressNN(base.readDense(w.id), w, cfg);
        expect(r.kind).toBe('lut');
        if (r.kind !== 'lut') return;
        expect(r.lut.length).toBe(16);
        const e = sse(orig, decompress(r));
        expect(e, w.name).toBeLessThanOrEqual(golden[w.name] * (1 + 1e-6));
        if (e < golden[w.name] * (1 - 1e-3)) better++;
      }
      // scikit-learn's Lloyd run is not optimal on the bigger tensors: the exact k-means does strictly better somewhere
      expect(better).toBeGreaterThan(0);
    });
  }
});

describe('compressNN details', () => {
  const info = (shape: number[], axis = 0): WeightInfo => ({
    id: 'x',
    name: 'l.weights',
    baseName: 'l.weights',
    opType: 'convolution.weights',
    consumers: [],
    shape,
    dtype: 'float32',
    count: shape.reduce((a, b) => a * b, 1),
    bytes: 0,
    location: { kind: 'inline' },
    nn: { axis, quantizable: true },
  });
  const dense = (shape: number[], v: number[]) => ({ dtype: 'fp32' as const, shape, data: Float32Array.from(v) });

  it('rounds half to even like numpy', () => {
    // (numpy gives -0.0 for -0.5; the sign of zero never matters for the unsigned codes)
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 2.5001].map(rhe)).toEqual([0, 2, 2, 4, 0, -2, 2, 3]);
  });

  it('deconvolution weights are quantized per channel along axis 1', () => {
    // [2, 3, 1, 1]: channel c of axis 1 holds elements c and 3 + c
    const v = [0, 10, 100, 1, 20, 300];
    const r = compressNN(dense([2, 3, 1, 1], v), info([2, 3, 1, 1], 1), { type: 'NNQuantizeConfig', nbits: 8, quantization_mode: 'linear' });
    if (r.kind !== 'nnlinear') throw new Error(r.kind);
    expect(r.axis).toBe(1);
    expect(Array.from(r.bias)).toEqual([0, 10, 100]);
    expect(Array.from(r.scale)).toEqual([1 / 255, 10 / 255, 200 / 255].map(Math.fround));
    expect(Array.from(r.data)).toEqual([0, 0, 0, 255, 255, 255]);
    const back = nnLinearToFloat32(r);
    for (let i = 0; i < v.length; i++) expect(back[i]).toBeCloseTo(v[i], 4);
  });

  it('a constant channel (scale below 1e-6) gets code 0 and keeps its value as bias', () => {
    const r = compressNN(dense([2, 2], [0.25, 0.25, -1, 1]), info([2, 2]), { type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'linear' });
    if (r.kind !== 'nnlinear') throw new Error(r.kind);
    expect(Array.from(r.data)).toEqual([0, 0, 0, 15]);
    const back = nnLinearToFloat32(r);
    expect(Array.from(back.subarray(0, 3))).toEqual([0.25, 0.25, -1]);
    // 15 * fround(2/15) - 1 in float64, rounded to float32: one ulp above 1, as coremltools gets it
    expect(back[3]).toBe(Math.fround(15 * Math.fround(2 / 15) - 1));
  });

  it('refuses linear_symmetric below 8 bits and nbits outside 1-8 / 16', () => {
    const d = dense([2], [1, 2]);
    expect(() => compressNN(d, info([2]), { type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'linear_symmetric' })).toThrow(/8-bit only/);
    expect(() => compressNN(d, info([2]), { type: 'NNQuantizeConfig', nbits: 12, quantization_mode: 'linear' })).toThrow(/1-8 or 16/);
  });

  it('k-means on fewer distinct values than LUT entries is exact, unused entries are 0', () => {
    const r = compressNN(dense([5], [3, -1, 3, 2, -1]), info([5]), { type: 'NNQuantizeConfig', nbits: 2, quantization_mode: 'kmeans_lut' });
    if (r.kind !== 'lut') throw new Error(r.kind);
    expect(Array.from(r.lut)).toEqual([-1, 2, 3, 0]);
    expect(Array.from(decompress(r))).toEqual([3, -1, 3, 2, -1]);
  });

  it('k-means above EXACT_LIMIT distinct values: grouped exact solve + Lloyd stays within 1e-4 of the optimum', () => {
    let seed = 7; // mulberry32
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const v = Float32Array.from({ length: 60000 }, () => (rand() + rand() + rand() - 1.5) * Math.log(rand() + 1e-9));
    const { xs, ws } = histogram(v);
    expect(xs.length).toBeGreaterThan(50000);
    for (const k of [4, 16]) {
      const exact = sseNearest(xs, ws, kmeans1d(xs, ws, k).centers);
      const grouped = sseNearest(xs, ws, kmeansCenters(xs, ws, k, 2048));
      expect(grouped).toBeGreaterThanOrEqual(exact * (1 - 1e-12));
      expect(grouped).toBeLessThanOrEqual(exact * (1 + 1e-4));
    }
  });

  it('radix sort of float32 values agrees with a comparison sort (negatives, -0, subnormals, infinities)', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 4096, maxLength: 6000 }), (vals) => {
        const v = Float32Array.from(vals);
        const ref = Float32Array.from(v).sort();
        const got = sortedFloats(v);
        return got.length === ref.length && got.every((x, i) => Object.is(x, ref[i]));
      }),
      { numRuns: 30 },
    );
  });

  it('property: linear n-bit error is at most half a step per channel; codes fit in n bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 120, maxLength: 120 }),
        (nbits, C, L, pool) => {
          const v = Array.from({ length: C * L }, (_, i) => pool[i % pool.length] * (1 + (i % 7)));
          const r = compressNN(dense([C, L], v), info([C, L]), { type: 'NNQuantizeConfig', nbits, quantization_mode: 'linear' });
          if (r.kind !== 'nnlinear') return false;
          const back = nnLinearToFloat32(r);
          const f = Float32Array.from(v);
          for (let i = 0; i < v.length; i++) {
            if (r.data[i] >= 1 << nbits) return false;
            const step = r.scale[Math.floor(i / L)];
            // below a scale of 1e-6 coremltools stores code 0 (the channel minimum) for every element
            const ch = Array.from(f.subarray(Math.floor(i / L) * L, Math.floor(i / L) * L + L));
            const bound = step > 1e-6 ? step / 2 : Math.max(...ch) - Math.min(...ch);
            // plus the rounding of scale and bias to float32 (relative 2^-24 each, scale times up to 2^n - 1)
            const f32err = (((1 << nbits) - 1) * step + Math.abs(r.bias[Math.floor(i / L)]) + Math.abs(v[i])) * 2 ** -23;
            if (Math.abs(back[i] - Math.fround(v[i])) > bound + f32err) return false;
          }
          return true;
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('toNNConfig and nnSelect', () => {
  it('maps coremltools ML-program configs onto quantize_weights modes', () => {
    const pal = { type: 'OpPalettizerConfig', granularity: 'per_tensor', group_size: 32, cluster_dim: 1, enable_per_channel_scale: false, weight_threshold: 2048 } as const;
    expect(toNNConfig({ ...pal, mode: 'kmeans', nbits: 4 })).toEqual({ type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'kmeans_lut' });
    expect(toNNConfig({ ...pal, mode: 'uniform', nbits: 2 })).toEqual({ type: 'NNQuantizeConfig', nbits: 2, quantization_mode: 'linear_lut' });
    expect(toNNConfig({ ...pal, mode: 'kmeans', nbits: 4, granularity: 'per_grouped_channel' })).toHaveProperty('skip');
    expect(toNNConfig({ ...pal, mode: 'kmeans', nbits: 4, cluster_dim: 2 })).toHaveProperty('skip');
    expect(toNNConfig({ ...pal, mode: 'unique' })).toHaveProperty('skip');
    const lin = { type: 'OpLinearQuantizerConfig', granularity: 'per_channel', block_size: 32, weight_threshold: 2048 } as const;
    expect(toNNConfig({ ...lin, mode: 'linear', dtype: 'uint8' })).toEqual({ type: 'NNQuantizeConfig', nbits: 8, quantization_mode: 'linear' });
    expect(toNNConfig({ ...lin, mode: 'linear_symmetric', dtype: 'int8' })).toEqual({ type: 'NNQuantizeConfig', nbits: 8, quantization_mode: 'linear_symmetric' });
    expect(toNNConfig({ ...lin, mode: 'linear_symmetric', dtype: 'int4' })).toEqual({ type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'linear' });
    expect(toNNConfig({ ...lin, mode: 'linear', dtype: 'int8', granularity: 'per_block' })).toHaveProperty('skip');
    expect(toNNConfig({ type: 'OpMagnitudePrunerConfig', target_sparsity: 0.5, weight_threshold: 2048 })).toEqual({
      skip: 'pruning is not available for neural-network models: convert to an ML program',
    });
    const nnc: NNQuantizeConfig = { type: 'NNQuantizeConfig', nbits: 16, quantization_mode: 'linear' };
    expect(toNNConfig(nnc)).toBe(nnc);
  });

  it('selects only quantizable fields still holding floatValue', () => {
    const { nn } = loadNN('golden', 'base_nn', 'nn-fp16.mlmodel');
    const fp16 = readNeuralNetwork(nn, 'nn', 'nn-fp16.mlmodel');
    expect(fp16.weights.every((w) => !nnSelect(w))).toBe(true);
    const w = { ...fp16.weights[0], dtype: 'float32' };
    expect(nnSelect(w)).toBe(true);
    expect(nnSelect({ ...w, nn: { axis: 0, quantizable: false } })).toBe(false);
    expect(nnSelect({ ...w, nn: undefined, opType: 'activation.PReLU.alpha' })).toBe(false);
    expect(nnSelect({ ...w, nn: undefined, opType: 'gru.updateGateWeightMatrix' })).toBe(true);
  });
});
