/**
 * The NeuralNetwork quantization kernels of coremltools' `quantization_utils.quantize_weights`
 * (formats.md §6.4): linear (1-8 bit, per channel), linear_symmetric (8 bit), linear_lut, kmeans_lut and
 * fp16. Arithmetic is float64 on the float32 weights, rounding is round-half-to-even (numpy), and linear
 * mode multiplies by 1/scale, exactly as coremltools does, so the stored codes, scales, biases and LUTs equal
 * coremltools' for the deterministic modes.
 */
import { ShrinkrayError } from '../../errors';
import type { DenseTensor, WeightInfo } from '../../model/types';
import type { Compressed, NNQuantizeConfig, OpConfig } from '../types';
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import { kmeansLut } from './kmeans';
import { lutRepr } from './repr';

export { lutRepr };

export const NN_MODES = ['linear', 'linear_symmetric', 'kmeans_lut', 'linear_lut', 'kmeans'] as const;

const PRUNE_SKIP = 'pruning is not available for neural-network models: convert to an ML program';

/** Maps an engine config to the NeuralNetwork form, or says why it has none. */
export function toNNConfig(cfg: OpConfig): NNQuantizeConfig | { skip: string } {
  switch (cfg.type) {
    case 'NNQuantizeConfig':
      return cfg;
    case 'OpPalettizerConfig': {
      if (cfg.granularity !== 'per_tensor') {
        return { skip: `${cfg.granularity} palettization is not available for neural-network models (one LUT per weight only)` };
      }
      if ((cfg.cluster_dim ?? 1) > 1) return { skip: 'vector palettization (cluster_dim > 1) is not available for neural-network models' };
      if (cfg.enable_per_channel_scale) return { skip: 'enable_per_channel_scale is not available for neural-network models' };
      if (cfg.lut_dtype) return { skip: 'a quantized LUT is not available for neural-network models' };
      if (cfg.mode === 'unique') return { skip: "palettization mode 'unique' is not available for neural-network models" };
      const nbits = cfg.nbits ?? 0;
      if (!(Number.isInteger(nbits) && nbits >= 1 && nbits <= 8)) return { skip: `a ${nbits}-bit LUT is not available for neural-network models (1-8 bits)` };
      return { type: 'NNQuantizeConfig', nbits, quantization_mode: cfg.mode === 'kmeans' ? 'kmeans_lut' : 'linear_lut' };
    }
    case 'OpLinearQuantizerConfig': {
      if (cfg.granularity === 'per_block') {
        return { skip: 'per_block quantization is not available for neural-network models (per-channel scale and bias only)' };
      }
      if (cfg.dtype === 'int4' || cfg.dtype === 'uint4') {
        // NN linear_symmetric is 8-bit only; 4-bit goes through the asymmetric per-channel form
        return { type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'linear' };
      }
      return { type: 'NNQuantizeConfig', nbits: 8, quantization_mode: cfg.mode === 'linear_symmetric' ? 'linear_symmetric' : 'linear' };
    }
    case 'OpMagnitudePrunerConfig':
    case 'OpThresholdPrunerConfig':
      return { skip: PRUNE_SKIP };
  }
}

// (layerType, field) pairs the default QuantizedLayerSelector quantizes (§6.5), for WeightInfos without `nn`.
const QUANTIZABLE_TYPES = new Set([
  'convolution',
  'innerProduct',
  'embedding',
  'embeddingND',
  'batchnorm',
  'scale',
  'bias',
  'loadConstant',
  'loadConstantND',
  'simpleRecurrent',
  'gru',
  'uniDirectionalLSTM',
  'biDirectionalLSTM',
  'batchedMatmul',
]);

/** Would quantize_weights quantize this weight: a quantizable field still holding floatValue. */
export function nnSelect(info: WeightInfo): boolean {
  if (info.dtype !== 'float32') return false;
  if (info.nn) return info.nn.quantizable;
  const layerType = info.opType.split('.')[0];
  return QUANTIZABLE_TYPES.has(layerType);
}

/** numpy.round: half to even. */
export function rhe(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function floats(dense: DenseTensor): Float32Array {
  if (dense.dtype === 'fp32') return dense.data as Float32Array;
  const bits = dense.data as Uint16Array;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = F16_TABLE[bits[i]];
  return out;
}

/** [outer, channels, inner] of a per-channel weight: rank 1 is one channel; axis 1 only for rank 4. */
function channels(shape: number[], axis: number, where: string): [number, number, number] {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length <= 1) return [1, 1, n];
  if (axis === 1) {
    if (shape.length !== 4) throw new ShrinkrayError('invalid-option', `${where}: quantization on axis 1 needs a rank-4 weight`);
    return [shape[0], shape[1], shape[2] * shape[3]];
  }
  return [1, shape[0], n / shape[0]];
}

function validate(cfg: NNQuantizeConfig, where: string): string {
  const mode = cfg.quantization_mode === 'kmeans' ? 'kmeans_lut' : cfg.quantization_mode;
  if (!(NN_MODES as readonly string[]).includes(cfg.quantization_mode)) {
    throw new ShrinkrayError('invalid-option', `${where}: quantization mode '${cfg.quantization_mode}' is not one of ${NN_MODES.join(', ')}`);
  }
  const nb = cfg.nbits;
  if (!(Number.isInteger(nb) && ((nb >= 1 && nb <= 8) || nb === 16))) {
    throw new ShrinkrayError('invalid-option', `${where}: nbits must be 1-8 or 16 (got ${nb})`);
  }
  if (mode === 'linear_symmetric' && nb !== 8) {
    throw new ShrinkrayError('invalid-option', `${where}: linear_symmetric quantization is 8-bit only (got ${nb})`);
  }
  return mode;
}

/** quantize_weights on one weight field. */
export function compressNN(dense: DenseTensor, info: WeightInfo, cfg: NNQuantizeConfig): Compressed {
  const where = `${info.name} (${info.opType})`;
  const mode = validate(cfg, where);
  const shape = dense.shape.slice();
  const w = floats(dense);
  const n = w.length;
  if (n !== shape.reduce((a, b) => a * b, 1)) {
    throw new ShrinkrayError('invalid-option', `${where}: ${n} values do not fill shape [${shape.join(', ')}]`);
  }
  const nbits = cfg.nbits;
  if (nbits === 16) {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = F16_TABLE[f32ToF16(w[i])];
    return { kind: 'dense', dtype: 'fp16', shape, values };
  }
  if (mode === 'linear' || mode === 'linear_symmetric') {
    const axis = info.nn?.axis ?? 0;
    return linear(w, shape, axis, nbits, mode === 'linear_symmetric', where);
  }
  if (mode === 'linear_lut') return linearLut(w, shape, nbits);
  return kmeansLut(w, shape, nbits);
}

function linear(w: Float32Array, shape: number[], axis: number, nbits: number, symmetric: boolean, where: string): Compressed {
  const [outer, C, inner] = channels(shape, axis, where);
  const lo = new Float64Array(C).fill(Infinity);
  const hi = new Float64Array(C).fill(-Infinity);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      let a = lo[c];
      let b = hi[c];
      for (let k = 0; k < inner; k++, i++) {
        const v = w[i];
        if (v < a) a = v;
        if (v > b) b = v;
      }
      lo[c] = a;
      hi[c] = b;
    }
  }
  const scale64 = new Float64Array(C);
  const bias64 = new Float64Array(C);
  const mul = new Float64Array(C); // 1/scale (linear) or scale (symmetric, divided by)
  const qmax = (1 << nbits) - 1;
  for (let c = 0; c < C; c++) {
    if (symmetric) {
      const r = Math.max(Math.abs(lo[c]), Math.abs(hi[c]));
      const s = r / ((1 << nbits) / 2 - 1);
      scale64[c] = s;
      bias64[c] = (-(1 << nbits) / 2) * s;
      mul[c] = Math.abs(s) > 1e-6 ? s : 0;
    } else {
      const s = (hi[c] - lo[c]) / qmax;
      scale64[c] = s;
      bias64[c] = lo[c];
      mul[c] = Math.abs(s) > 1e-6 ? 1 / s : 0;
    }
  }
  const data = new Uint8Array(w.length);
  i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const b = bias64[c];
      const m = mul[c];
      for (let k = 0; k < inner; k++, i++) {
        const x = symmetric ? (m === 0 ? 0 : (w[i] - b) / m) : (w[i] - b) * m;
        let q = Math.round(x); // half up; numpy rounds half to even
        if (q - x === 0.5 && q & 1) q--;
        data[i] = q < 0 ? 0 : q > qmax ? qmax : q;
      }
    }
  }
  return {
    kind: 'nnlinear',
    dtype: 'fp32',
    nbits,
    shape,
    data,
    scale: Float32Array.from(scale64),
    bias: Float32Array.from(bias64),
    axis: shape.length === 4 ? axis : 0,
  };
}

function linearLut(w: Float32Array, shape: number[], nbits: number): Compressed {
  let a = Infinity;
  let b = -Infinity;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (v < a) a = v;
    if (v > b) b = v;
  }
  const qmax = (1 << nbits) - 1;
  const s = (b - a) / qmax;
  const m = Math.abs(s) > 1e-6 ? 1 / s : 0;
  const indices = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const q = rhe((w[i] - a) * m);
    indices[i] = q < 0 ? 0 : q > qmax ? qmax : q;
  }
  const lut = new Float32Array(qmax + 1);
  for (let k = 0; k <= qmax; k++) lut[k] = k * s + a;
  return lutRepr(shape, nbits, indices, lut);
}

/** Decompresses an NNLinearRepr as coremltools does: q * scale + bias in float64, rounded to float32. */
export function nnLinearToFloat32(r: Extract<Compressed, { kind: 'nnlinear' }>): Float32Array {
  const C = r.scale.length;
  const out = new Float32Array(r.data.length);
  let outer = 1;
  let dim = 1;
  let inner = r.data.length;
  if (C > 1) {
    if (r.shape.length === 1) {
      dim = C;
      inner = 1;
    } else {
      const ax = r.axis;
      outer = r.shape.slice(0, ax).reduce((a, b) => a * b, 1);
      dim = r.shape[ax];
      inner = r.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    }
  }
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < dim; c++) {
      const s = r.scale[c];
      const b = r.bias[c];
      for (let k = 0; k < inner; k++, i++) out[i] = r.data[i] * s + b;
    }
  }
  return out;
}
