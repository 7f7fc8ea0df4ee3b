/**
 * The ops coremltools writes for each compressed representation (formats.md §3.7, §5.10, §5.12):
 * iOS16 ops with their params in attributes, iOS18 ops with their params in inputs, values of ≥ 10
 * elements in weight.bin and smaller ones immediate.
 */
import type { AffineRepr, Compressed, LutRepr, SparseRepr, Target } from '../../compress/types';
import { f32ArrayToF16 } from '../../tensor/fp16';
import { packLSB } from '../../tensor/pack';
import { nonzeroCount, sparseStorage } from '../../compress/prune/compact';
import type { BlobWriter } from './blob';
import { BY_NAME } from './dtypes';
import type { PArgument, POperation, PValue } from './schema';
import { blobValue, immediateValue, namedType, prod, stringValue } from './values';

export const WEIGHT_FILE = '@model_path/weights/weight.bin';

/** Blob layout bytes of numbers in a dtype (sub-byte types packed LSB-first). */
export function encodeNumbers(vals: ArrayLike<number>, dtype: string): Uint8Array {
  const n = vals.length;
  switch (dtype) {
    case 'fp16': {
      const h = f32ArrayToF16(vals);
      return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    }
    case 'fp32': {
      const f = vals instanceof Float32Array ? vals : Float32Array.from(vals);
      return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
    }
    case 'int8': {
      const a = vals instanceof Int8Array ? vals : Int8Array.from(vals);
      return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    }
    case 'uint8':
      return vals instanceof Uint8Array ? vals : Uint8Array.from(vals);
    case 'int32': return new Uint8Array(Int32Array.from(vals).buffer);
    case 'uint32': return new Uint8Array(Uint32Array.from(vals).buffer);
    default: {
      const bits = BY_NAME.get(dtype)?.bits;
      if (!bits || bits >= 8) throw new Error(`cannot encode dtype ${dtype}`);
      return packLSB(vals, bits, n);
    }
  }
}

/** Chooses blob or immediate storage (formats.md §3.6). */
export class ValueMaker {
  constructor(private blobs: BlobWriter, private spec: () => number) {}

  tensor(dtype: string, shape: number[], vals: ArrayLike<number>): PValue {
    return this.raw(dtype, shape, encodeNumbers(vals, dtype));
  }

  raw(dtype: string, shape: number[], raw: Uint8Array): PValue {
    const n = prod(shape);
    const info = BY_NAME.get(dtype)!;
    const basic = ['fp16', 'fp32', 'uint8', 'int8'].includes(dtype);
    const wide = ['int16', 'uint16', 'int32', 'uint32'].includes(dtype) && this.spec() >= 9;
    const sub = info.bits < 8;
    if (n >= 10 && (basic || wide || sub) && info.blob !== undefined) {
      return blobValue(dtype, shape, this.blobs.add(dtype, raw, n), WEIGHT_FILE);
    }
    return immediateValue(dtype, shape, raw);
  }

  scalarInt(v: number): PValue {
    return immediateValue('int32', [], encodeNumbers([v], 'int32'));
  }
}

type Param = { name: string; value?: PValue; ref?: string };

function iOS16Op(type: string, name: string, params: Param[], out: { dtype: string; shape: number[] }): POperation {
  const attributes: Record<string, PValue> = { name: stringValue(name) };
  for (const p of params) attributes[p.name] = p.value!;
  return { type, inputs: {}, outputs: [namedType(name, out.dtype, out.shape)], blocks: [], attributes };
}

function iOS18Op(type: string, name: string, params: Param[], outs: { name: string; dtype: string; shape: number[] }[]): POperation {
  const inputs: Record<string, PArgument> = {};
  for (const p of params) inputs[p.name] = { arguments: [p.ref ? { name: p.ref } : { value: p.value! }] };
  return { type, inputs, outputs: outs.map((o) => namedType(o.name, o.dtype, o.shape)), blocks: [], attributes: { name: stringValue(name) } };
}

export interface Emitted {
  ops: POperation[];
  /** the var the consumers read */
  output: string;
  /** spec the ops need: 7 (iOS16 ops) or 9 (iOS18 ops) */
  minSpec: number;
}

const iOS18Target = (t: Target) => t === 'iOS18';

function lutIOS16Ok(r: LutRepr): boolean {
  const K = r.shape.length;
  return !r.lutQuant && !r.perChannelScale && [1, 2, 4, 6, 8].includes(r.nbits)
    && r.lutShape.slice(0, K).every((g) => g === 1) && r.lutShape[K + 1] === 1;
}

function affineIOS16Ok(r: AffineRepr): boolean {
  return (r.qdtype === 'int8' || r.qdtype === 'uint8') && r.scaleShape.filter((s) => s > 1).length <= 1
    && r.scaleShape.every((s, d) => s === 1 || s === r.shape[d]);
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** The LUT tiled to the grid of the per-channel scale, and the scale on that grid (coremltools' folded form). */
function foldPcs(r: LutRepr): { lut: Float32Array; lutShape: number[]; scale: Float32Array; scaleShape: number[] } {
  const pcs = r.perChannelScale!;
  const K = r.indicesShape.length;
  const G = r.lutShape.slice(0, K);
  const P = pcs.shape;
  const T = G.map((g, d) => (g * P[d]) / gcd(g, P[d]));
  const N = r.lutShape[K];
  const V = r.lutShape[K + 1];
  const nT = prod(T);
  const lut = new Float32Array(nT * N * V);
  const scale = new Float32Array(nT);
  const tIdx = new Array(K).fill(0);
  const gst = strides(G);
  const pst = strides(P);
  for (let t = 0; t < nT; t++) {
    let g = 0;
    let p = 0;
    for (let d = 0; d < K; d++) {
      g += Math.floor((tIdx[d] * G[d]) / T[d]) * gst[d];
      p += Math.floor((tIdx[d] * P[d]) / T[d]) * pst[d];
    }
    lut.set(r.lut.subarray(g * N * V, (g + 1) * N * V), t * N * V);
    scale[t] = pcs.scale[p];
    for (let d = K - 1; d >= 0; d--) {
      if (++tIdx[d] < T[d]) break;
      tIdx[d] = 0;
    }
  }
  return { lut, lutShape: [...T, N, V], scale, scaleShape: [...T, 1, 1] };
}

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

function offsetOrZeros(r: AffineRepr): ArrayLike<number> {
  return r.offset ?? new Uint8Array(prod(r.scaleShape));
}

/** Emits the constexpr chain for `repr`, named after the original const `base`. */
export function emitRepr(repr: Compressed, base: string, target: Target, vm: ValueMaker): Emitted {
  const dt = repr.dtype;
  switch (repr.kind) {
    case 'dense': {
      const val = vm.tensor(dt, repr.shape, repr.values);
      return {
        ops: [{ type: 'const', inputs: {}, outputs: [namedType(base, dt, repr.shape)], blocks: [], attributes: { name: stringValue(base), val } }],
        output: base,
        minSpec: 0,
      };
    }
    case 'lut': {
      const name = `${base}_palettized`;
      if (!iOS18Target(target) && lutIOS16Ok(repr)) {
        const K = repr.shape.length;
        const N = repr.lutShape[K];
        const idx = packLSB(repr.indices, repr.nbits);
        const op = iOS16Op('constexpr_lut_to_dense', name, [
          { name: 'lut', value: vm.tensor(dt, [N], repr.lut) },
          { name: 'indices', value: vm.raw('uint8', [idx.length], idx) },
          { name: 'shape', value: vm.tensor('uint32', [K], repr.shape) },
        ], { dtype: dt, shape: repr.shape });
        return { ops: [op], output: name, minSpec: 7 };
      }
      return lutIOS18(repr, base, name, vm);
    }
    case 'affine': {
      const name = `${base}_quantized`;
      if (!iOS18Target(target) && affineIOS16Ok(repr)) {
        const axis = Math.max(0, repr.scaleShape.findIndex((s) => s > 1));
        const perAxis = repr.scaleShape.some((s) => s > 1);
        const sShape = perAxis ? [repr.shape[axis]] : [];
        const op = iOS16Op('constexpr_affine_dequantize', name, [
          { name: 'quantized_data', value: vm.tensor(repr.qdtype, repr.shape, repr.data) },
          { name: 'zero_point', value: vm.tensor(repr.qdtype, sShape, offsetOrZeros(repr)) },
          { name: 'scale', value: vm.tensor(dt, sShape, repr.scale) },
          { name: 'axis', value: vm.scalarInt(axis) },
        ], { dtype: dt, shape: repr.shape });
        return { ops: [op], output: name, minSpec: 7 };
      }
      const params: Param[] = [
        { name: 'data', value: vm.tensor(repr.qdtype, repr.shape, repr.data) },
        { name: 'scale', value: vm.tensor(dt, repr.scaleShape, repr.scale) },
      ];
      if (repr.offset) params.push({ name: 'offset', value: vm.tensor(repr.qdtype, repr.scaleShape, repr.offset) });
      return { ops: [iOS18Op('constexpr_blockwise_shift_scale', name, params, [{ name, dtype: dt, shape: repr.shape }])], output: name, minSpec: 9 };
    }
    case 'sparse':
      return emitSparse(repr, base, target, vm);
    case 'nnlinear':
      throw new Error(`${base}: a NeuralNetwork linear representation cannot be written into an ML program`);
  }
}

/** lut_to_dense (iOS18), with its quantized-LUT or per-channel-scale producer when present. */
function lutIOS18(r: LutRepr, base: string, name: string, vm: ValueMaker): Emitted {
  const dt = r.dtype;
  const ops: POperation[] = [];
  const idxDtype = r.nbits === 8 ? 'uint8' : `uint${r.nbits}`;
  const V = r.lutShape[r.lutShape.length - 1];
  let lutParam: Param;
  let out = name;
  let lutOpName = name;
  if (r.perChannelScale) {
    // coremltools' saved form: blockwise_shift_scale on the tiled LUT (named <const>_palettized), then
    // lut_to_dense named <const>_palettized_pcs
    const f = foldPcs(r);
    ops.push(iOS18Op('constexpr_blockwise_shift_scale', name, [
      { name: 'data', value: vm.tensor(dt, f.lutShape, f.lut) },
      { name: 'scale', value: vm.tensor(dt, f.scaleShape, f.scale) },
    ], [{ name, dtype: dt, shape: f.lutShape }]));
    lutParam = { name: 'lut', ref: name };
    lutOpName = out = `${base}_palettized_pcs`;
  } else if (r.lutQuant) {
    const q = r.lutQuant;
    const qn = `${name}_lut_0_quantized`;
    const params: Param[] = [
      { name: 'data', value: vm.tensor(q.qdtype, r.lutShape, q.data) },
      { name: 'scale', value: vm.tensor(dt, q.scaleShape, q.scale) },
    ];
    if (q.offset) params.push({ name: 'offset', value: vm.tensor(q.qdtype, q.scaleShape, q.offset) });
    ops.push(iOS18Op('constexpr_blockwise_shift_scale', qn, params, [{ name: qn, dtype: dt, shape: r.lutShape }]));
    lutParam = { name: 'lut', ref: qn };
  } else {
    lutParam = { name: 'lut', value: vm.tensor(dt, r.lutShape, r.lut) };
  }
  const params: Param[] = [{ name: 'indices', value: vm.tensor(idxDtype, r.indicesShape, r.indices) }, lutParam];
  if (V > 1) params.push({ name: 'vector_axis', value: vm.scalarInt(r.vectorAxis ?? 0) });
  ops.push(iOS18Op('constexpr_lut_to_dense', lutOpName, params, [{ name: lutOpName, dtype: dt, shape: r.shape }]));
  return { ops, output: out, minSpec: 9 };
}

function emitSparse(r: SparseRepr, base: string, target: Target, vm: ValueMaker): Emitted {
  const dt = r.dtype;
  const name = `${base}_sparsified`;
  const D = nonzeroCount(r);
  if (!r.inner) {
    // a compact fp16 SparseRepr (prune/compact.ts) already holds the stored forms: the fp16 patterns of the
    // nonzeros and the mask packed LSB-first; with them mask and values are never built
    const st = sparseStorage(r);
    const nonzeros = () =>
      st.values16 && dt === 'fp16'
        ? vm.raw(dt, [D], new Uint8Array(st.values16.buffer, st.values16.byteOffset, st.values16.byteLength))
        : vm.tensor(dt, [D], r.values);
    if (!iOS18Target(target)) {
      const values = nonzeros();
      const mask = st.maskBits ?? packLSB(r.mask, 1);
      const op = iOS16Op('constexpr_sparse_to_dense', name, [
        { name: 'nonzero_data', value: values },
        { name: 'mask', value: vm.raw('uint8', [mask.length], mask) },
        { name: 'shape', value: vm.tensor('uint32', [r.shape.length], r.shape) },
      ], { dtype: dt, shape: r.shape });
      return { ops: [op], output: name, minSpec: 7 };
    }
    const op = iOS18Op('constexpr_sparse_to_dense', name, [
      { name: 'nonzero_data', value: nonzeros() },
      { name: 'mask', value: st.maskBits ? vm.raw('uint1', r.shape, st.maskBits) : vm.tensor('uint1', r.shape, r.mask) },
    ], [{ name, dtype: dt, shape: r.shape }]);
    return { ops: [op], output: name, minSpec: 9 };
  }
  const inner = r.inner;
  const ops: POperation[] = [];
  if (inner.kind === 'affine') {
    const qn = `${name}_nonzero_data_0_quantized`;
    const params: Param[] = [
      { name: 'data_mask', value: vm.tensor('uint1', r.shape, r.mask) },
      { name: 'nonzero_data', value: vm.tensor(inner.qdtype, [inner.data.length], inner.data) },
      { name: 'scale', value: vm.tensor(dt, inner.scaleShape, inner.scale) },
    ];
    if (inner.offset) params.push({ name: 'offset', value: vm.tensor(inner.qdtype, inner.scaleShape, inner.offset) });
    ops.push(iOS18Op('constexpr_sparse_blockwise_shift_scale', qn, params, [
      { name: `${qn}_0`, dtype: 'uint1', shape: r.shape },
      { name: `${qn}_1`, dtype: dt, shape: [inner.data.length] },
    ]));
    ops.push(iOS18Op('constexpr_sparse_to_dense', name, [
      { name: 'nonzero_data', ref: `${qn}_1` },
      { name: 'mask', value: vm.tensor('uint1', r.shape, r.mask) },
    ], [{ name, dtype: dt, shape: r.shape }]));
    return { ops, output: name, minSpec: 9 };
  }
  // prune, then palettize: lut_to_sparse (outputs mask, values) → sparse_to_dense
  const pn = `${name}_nonzero_data_0_palettized`;
  const K = inner.indicesShape.length;
  const V = inner.lutShape[K + 1];
  const idxDtype = inner.nbits === 8 ? 'uint8' : `uint${inner.nbits}`;
  const indicesMask = V > 1 ? vectorMask(r.mask, r.shape, inner.vectorAxis ?? 0, V) : r.mask;
  let lutParam: Param;
  if (inner.lutQuant) {
    const q = inner.lutQuant;
    const qn = `${pn}_lut_0_quantized`;
    const params: Param[] = [
      { name: 'data', value: vm.tensor(q.qdtype, inner.lutShape, q.data) },
      { name: 'scale', value: vm.tensor(dt, q.scaleShape, q.scale) },
    ];
    if (q.offset) params.push({ name: 'offset', value: vm.tensor(q.qdtype, q.scaleShape, q.offset) });
    ops.push(iOS18Op('constexpr_blockwise_shift_scale', qn, params, [{ name: qn, dtype: dt, shape: inner.lutShape }]));
    lutParam = { name: 'lut', ref: qn };
  } else {
    lutParam = { name: 'lut', value: vm.tensor(dt, inner.lutShape, inner.lut) };
  }
  const params: Param[] = [
    { name: 'indices_mask', value: vm.tensor('uint1', inner.indicesShape, indicesMask) },
    { name: 'indices_nonzero_data', value: vm.tensor(idxDtype, [inner.indices.length], inner.indices) },
    lutParam,
  ];
  if (V > 1) params.push({ name: 'vector_axis', value: vm.scalarInt(inner.vectorAxis ?? 0) });
  ops.push(iOS18Op('constexpr_lut_to_sparse', pn, params, [
    { name: `${pn}_0`, dtype: 'uint1', shape: r.shape },
    { name: `${pn}_1`, dtype: dt, shape: [D] },
  ]));
  ops.push(iOS18Op('constexpr_sparse_to_dense', name, [
    { name: 'nonzero_data', ref: `${pn}_1` },
    { name: 'mask', ref: `${pn}_0` },
  ], [{ name, dtype: dt, shape: r.shape }]));
  return { ops, output: name, minSpec: 9 };
}

/** The indices mask of a vector LUT: every V-th position along the vector axis of the dense mask. */
function vectorMask(mask: Uint8Array, shape: number[], axis: number, V: number): Uint8Array {
  const a = axis < 0 ? axis + shape.length : axis;
  const ishape = shape.slice();
  ishape[a] /= V;
  const inner = prod(shape.slice(a + 1));
  const out = new Uint8Array(prod(ishape));
  for (let j = 0; j < out.length; j++) {
    const o = Math.floor(j / (ishape[a] * inner));
    const c = Math.floor(j / inner) % ishape[a];
    const rr = j % inner;
    out[j] = mask[(o * shape[a] + c * V) * inner + rr];
  }
  return out;
}
