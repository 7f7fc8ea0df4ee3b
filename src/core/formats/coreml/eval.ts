/**
 * Decompression of constexpr chains with coremltools' reference arithmetic (formats.md §5):
 * affine_dequantize computes in fp32 then casts; blockwise_shift_scale computes in the scale dtype.
 * Every array is a Float32Array (codes, masks and values alike; all exact in float32).
 */
import { F16_TABLE, f16View, f32ToF16, f32View } from '../../tensor/fp16';
import { unpackLSB } from '../../tensor/pack';
import { BY_NAME } from './dtypes';
import type { MilOp, Param, StoredValue } from './mil';
import { prod } from './values';

export interface Arr {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export type RawReader = (v: StoredValue) => Promise<Uint8Array>;

/** Decodes stored bytes (blob layout) into numbers. */
export function rawToArr(raw: Uint8Array, dtype: string, shape: number[]): Arr {
  const n = prod(shape);
  const out = new Float32Array(n);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case 'fp16': {
      const h = f16View(raw.subarray(0, n * 2));
      const t = F16_TABLE;
      for (let i = 0; i < n; i++) out[i] = t[h[i]];
      break;
    }
    case 'fp32': out.set(f32View(raw.subarray(0, n * 4))); break;
    case 'fp64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
    case 'int8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case 'uint8': case 'bool': for (let i = 0; i < n; i++) out[i] = raw[i]; break;
    case 'int16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true); break;
    case 'uint16': for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, true); break;
    case 'int32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
    case 'uint32': for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, true); break;
    case 'int4': {
      const u = unpackLSB(raw, 4, n);
      for (let i = 0; i < n; i++) out[i] = u[i] >= 8 ? u[i] - 16 : u[i];
      break;
    }
    default: {
      const bits = BY_NAME.get(dtype)?.bits;
      if (!bits || bits >= 8) throw new Error(`cannot decode dtype ${dtype}`);
      const u = unpackLSB(raw, bits, n);
      for (let i = 0; i < n; i++) out[i] = u[i];
    }
  }
  return { dtype, shape, data: out };
}

export function rounder(dtype: string): (x: number) => number {
  if (dtype === 'fp16') return (x) => F16_TABLE[f32ToF16(x)];
  return Math.fround;
}

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/**
 * For each element of `shape`, the flat index of its block in `gshape` (same rank; shape[d] % gshape[d] == 0).
 */
export function blockIndex(shape: number[], gshape: number[]): Int32Array {
  const n = prod(shape);
  const out = new Int32Array(n);
  const K = shape.length;
  if (prod(gshape) === 1) return out;
  const bs = shape.map((s, d) => s / gshape[d]);
  const gst = strides(gshape);
  const idx = new Array(K).fill(0);
  for (let i = 0; i < n; i++) {
    let g = 0;
    for (let d = 0; d < K; d++) g += Math.floor(idx[d] / bs[d]) * gst[d];
    out[i] = g;
    for (let d = K - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Shift-scale in the scale dtype: (data - offset) * scale, per block. */
function shiftScale(data: Float32Array, scale: Arr, offset: Arr | undefined, blocks: Int32Array): Float32Array {
  const r = rounder(scale.dtype);
  const n = data.length;
  const out = new Float32Array(n);
  const s = scale.data;
  const o = offset?.data;
  for (let i = 0; i < n; i++) {
    const b = blocks[i];
    // data and offset cast to the scale dtype, then (data - offset) * scale, each step rounded to it
    let x = r(data[i]);
    if (o) x = r(x - r(o[b]));
    out[i] = r(x * s[b]);
  }
  return out;
}

function lutParams(lut: Arr, K: number) {
  const lshape = lut.shape;
  const G = lshape.slice(0, K);
  const N = lshape[K];
  const V = lshape[K + 1];
  return { G, N, V };
}

export function lutToDense(indices: Arr, lut: Arr, vectorAxis: number | undefined): Arr {
  const ishape = indices.shape;
  const K = ishape.length;
  const { G, N, V } = lutParams(lut, K);
  const oshape = ishape.slice();
  let ax = vectorAxis ?? 0;
  if (ax < 0) ax += K;
  if (V > 1) oshape[ax] *= V;
  const out = new Float32Array(prod(oshape));
  const groups = blockIndex(ishape, G);
  const idx = indices.data;
  const L = lut.data;
  if (V === 1) {
    for (let i = 0; i < idx.length; i++) out[i] = L[groups[i] * N + idx[i]];
  } else {
    const ost = strides(oshape);
    const pos = new Array(K).fill(0);
    for (let j = 0; j < idx.length; j++) {
      let o = 0;
      for (let d = 0; d < K; d++) o += (d === ax ? pos[d] * V : pos[d]) * ost[d];
      const base = (groups[j] * N + idx[j]) * V;
      for (let v = 0; v < V; v++) out[o + v * ost[ax]] = L[base + v];
      for (let d = K - 1; d >= 0; d--) {
        if (++pos[d] < ishape[d]) break;
        pos[d] = 0;
      }
    }
  }
  return { dtype: lut.dtype, shape: oshape, data: out };
}

function scatter(mask: Float32Array, values: Float32Array, shape: number[], dtype: string): Arr {
  const out = new Float32Array(mask.length);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i] = values[k++];
  if (k !== values.length) throw new Error(`sparse_to_dense: mask has ${k} set bits but nonzero_data has ${values.length} values`);
  return { dtype, shape, data: out };
}

/** Evaluates one constexpr op; returns its outputs in order. */
export function evalOp(op: MilOp, p: Record<string, Arr | undefined>): Arr[] {
  const need = (k: string): Arr => {
    const a = p[k];
    if (!a) throw new Error(`${op.type} ${op.name}: missing input ${k}`);
    return a;
  };
  switch (op.type) {
    case 'constexpr_affine_dequantize': {
      const q = need('quantized_data');
      const zp = need('zero_point');
      const sc = need('scale');
      const axisA = p.axis;
      let axis = axisA ? axisA.data[0] : 0;
      if (axis < 0) axis += q.shape.length;
      const r = rounder(sc.dtype);
      const n = q.data.length;
      const out = new Float32Array(n);
      const perAxis = sc.shape.length === 1 || zp.shape.length === 1;
      const inner = perAxis ? prod(q.shape.slice(axis + 1)) : 1;
      const C = perAxis ? q.shape[axis] : 1;
      for (let i = 0; i < n; i++) {
        const c = perAxis ? Math.floor(i / inner) % C : 0;
        const s = sc.shape.length === 1 ? sc.data[c] : sc.data[0];
        const z = zp.shape.length === 1 ? zp.data[c] : zp.data[0];
        out[i] = r(Math.fround((q.data[i] - z) * s));
      }
      return [{ dtype: sc.dtype, shape: q.shape, data: out }];
    }
    case 'constexpr_blockwise_shift_scale': {
      const d = need('data');
      const sc = need('scale');
      const blocks = blockIndex(d.shape, sc.shape);
      return [{ dtype: sc.dtype, shape: d.shape, data: shiftScale(d.data, sc, p.offset, blocks) }];
    }
    case 'constexpr_lut_to_dense': {
      const lut = need('lut');
      const ind = need('indices');
      if (p.shape) {
        // iOS16: packed uint8 indices, rank-1 LUT, explicit shape
        const shape = Array.from(p.shape.data);
        const n = prod(shape);
        const N = lut.data.length;
        const nbits = Math.log2(N);
        const bytes = Uint8Array.from(ind.data);
        const codes = unpackLSB(bytes, nbits, n);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = lut.data[codes[i]];
        return [{ dtype: lut.dtype, shape, data: out }];
      }
      return [lutToDense(ind, lut, p.vector_axis ? p.vector_axis.data[0] : undefined)];
    }
    case 'constexpr_sparse_to_dense': {
      const nz = need('nonzero_data');
      const mask = need('mask');
      if (p.shape) {
        const shape = Array.from(p.shape.data);
        const n = prod(shape);
        const m = unpackLSB(Uint8Array.from(mask.data), 1, n);
        return [scatter(Float32Array.from(m), nz.data, shape, nz.dtype)];
      }
      return [scatter(mask.data, nz.data, mask.shape, nz.dtype)];
    }
    case 'constexpr_lut_to_sparse': {
      const mask = need('indices_mask');
      const codes = need('indices_nonzero_data');
      const lut = need('lut');
      const K = mask.shape.length;
      const { G, N, V } = lutParams(lut, K);
      let ax = p.vector_axis ? p.vector_axis.data[0] : 0;
      if (ax < 0) ax += K;
      const groups = blockIndex(mask.shape, G);
      if (V === 1) {
        const vals = new Float32Array(codes.data.length);
        let k = 0;
        for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) { vals[k] = lut.data[groups[i] * N + codes.data[k]]; k++; }
        return [{ dtype: 'uint1', shape: mask.shape, data: mask.data }, { dtype: lut.dtype, shape: [k], data: vals }];
      }
      // vector LUT: the mask repeats V times along the axis; values in row-major order of the output mask
      const rank = new Int32Array(mask.data.length);
      let c = 0;
      for (let i = 0; i < mask.data.length; i++) { rank[i] = c; if (mask.data[i]) c++; }
      const oshape = mask.shape.slice();
      oshape[ax] *= V;
      const on = prod(oshape);
      const omask = new Float32Array(on);
      const vals = new Float32Array(c * V);
      const ist = strides(mask.shape);
      const pos = new Array(K).fill(0);
      let k = 0;
      for (let o = 0; o < on; o++) {
        let j = 0;
        for (let d = 0; d < K; d++) j += (d === ax ? Math.floor(pos[d] / V) : pos[d]) * ist[d];
        if (mask.data[j]) {
          omask[o] = 1;
          vals[k++] = lut.data[(groups[j] * N + codes.data[rank[j]]) * V + (pos[ax] % V)];
        }
        for (let d = K - 1; d >= 0; d--) {
          if (++pos[d] < oshape[d]) break;
          pos[d] = 0;
        }
      }
      return [{ dtype: 'uint1', shape: oshape, data: omask }, { dtype: lut.dtype, shape: [k], data: vals }];
    }
    case 'constexpr_sparse_blockwise_shift_scale': {
      const mask = need('data_mask');
      const nz = need('nonzero_data');
      const sc = need('scale');
      const blocksDense = blockIndex(mask.shape, sc.shape);
      const blocks = new Int32Array(nz.data.length);
      let k = 0;
      for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) blocks[k++] = blocksDense[i];
      return [
        { dtype: 'uint1', shape: mask.shape, data: mask.data },
        { dtype: sc.dtype, shape: nz.shape, data: shiftScale(nz.data, sc, p.offset, blocks) },
      ];
    }
    case 'constexpr_cast': {
      const s = need('source_val');
      return [{ dtype: 'fp32', shape: s.shape, data: Float32Array.from(s.data) }];
    }
    default:
      throw new Error(`unsupported constexpr op ${op.type} (${op.name})`);
  }
}

/** Runs a chain; returns every output by var name. */
export async function evalChain(chain: MilOp[], read: RawReader): Promise<Map<string, Arr>> {
  const env = new Map<string, Arr>();
  const load = async (prm: Param | undefined): Promise<Arr | undefined> => {
    if (!prm) return undefined;
    if (prm.from && env.has(prm.from)) return env.get(prm.from);
    if (prm.value) {
      if (prm.value.dtype === 'string') return undefined;
      return rawToArr(await read(prm.value), prm.value.dtype, prm.value.shape);
    }
    if (prm.from) throw new Error(`input ${prm.from} is not produced by a constexpr op`);
    return undefined;
  };
  for (const op of chain) {
    if (op.type === 'const') {
      const v = op.params.val?.value;
      if (!v) throw new Error(`const ${op.name} has no value`);
      env.set(op.outputs[0].name, rawToArr(await read(v), v.dtype, v.shape));
      continue;
    }
    const args: Record<string, Arr | undefined> = {};
    for (const [k, prm] of Object.entries(op.params)) {
      if (k === 'output_dtype') continue;
      args[k] = await load(prm);
    }
    const outs = evalOp(op, args);
    op.outputs.forEach((o, i) => {
      const a = outs[i];
      if (a) env.set(o.name, { ...a, dtype: o.dtype !== '?' ? o.dtype : a.dtype });
    });
  }
  return env;
}
