/** Representations of already-compressed ONNX weights: DequantizeLinear, Shrinkray chains, sparse tensors. */
import type { AffineRepr, Compressed, LutRepr, SparseRepr } from '../../compress/types';
import { ShrinkrayError } from '../../errors';
import type { WeightInfo } from '../../model/types';
import { unpackLSB } from '../../tensor/pack';
import { DT, dtypeName, rawToCodes, rawToFloat32 } from './dtypes';
import type { GraphRec } from './graph';
import type { TensorSource } from './index';
import type { ChainMeta } from './meta';
import { readRaw, type TensorRef } from './tensor';

export interface DqInfo {
  nodeIndex: number;
  out: string;
  x: TensorRef;
  scale: TensorRef;
  zp?: TensorRef;
  axis: number;
  blockSize: number;
  outDt: number;
  /** x, scale[, zero point] */
  names: string[];
  graph: GraphRec;
}

async function floats(ref: TensorRef): Promise<Float32Array> {
  return rawToFloat32(ref.dt, await readRaw(ref), ref.count);
}

type QD = AffineRepr['qdtype'];

export async function readDqRepr(dq: DqInfo): Promise<AffineRepr> {
  const shape = dq.x.dims;
  const rank = shape.length;
  const data = rawToCodes(dq.x.dt, await readRaw(dq.x), dq.x.count);
  let scale = await floats(dq.scale);
  let offset = dq.zp ? rawToCodes(dq.zp.dt, await readRaw(dq.zp), dq.zp.count) : undefined;
  let scaleShape: number[];
  if (dq.scale.count === 1 && dq.blockSize === 0) scaleShape = shape.map(() => 1);
  else if (dq.blockSize === 0) scaleShape = shape.map((s, d) => (d === dq.axis ? s : 1));
  else scaleShape = dq.scale.dims.slice();
  if (scaleShape.length !== rank || scaleShape.some((s, d) => s === 0 || shape[d] % s !== 0)) {
    // a partial last block: give every element its own scale (exact, if large)
    const n = dq.x.count;
    const full = new Float32Array(n);
    const fo = offset ? (offset instanceof Int8Array ? new Int8Array(n) : new Uint8Array(n)) : undefined;
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const sStrides = scaleShape.map((_, d) => scaleShape.slice(d + 1).reduce((a, b) => a * b, 1));
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let d = 0; d < rank; d++) {
        const p = Math.floor(i / strides[d]) % shape[d];
        const sp = d === dq.axis ? Math.floor(p / dq.blockSize) : scaleShape[d] === 1 ? 0 : p;
        b += sp * sStrides[d];
      }
      full[i] = scale[b];
      if (fo && offset) fo[i] = offset[b];
    }
    scale = full;
    offset = fo;
    scaleShape = shape.slice();
  }
  return {
    kind: 'affine',
    dtype: dq.outDt === DT.FLOAT16 ? 'fp16' : 'fp32',
    qdtype: dtypeName(dq.x.dt) as QD,
    shape,
    data,
    scale,
    scaleShape,
    offset,
  };
}

function refOf(srcs: Map<string, TensorSource>, name: string): TensorRef {
  const s = srcs.get(name);
  if (!s || (s.kind !== 'init' && s.kind !== 'const')) throw new ShrinkrayError('internal', `tensor ${name} of a compressed weight is missing`);
  return s.ref;
}

async function unpackCodes(ref: TensorRef, pack: number | 'u4', n: number): Promise<Uint8Array> {
  const raw = await readRaw(ref);
  if (pack === 8) return raw.slice(0, n);
  return unpackLSB(raw, pack === 'u4' ? 4 : pack, n);
}

export async function readChainRepr(m: ChainMeta, srcs: Map<string, TensorSource>): Promise<Compressed> {
  const n = m.shape.reduce((a, b) => a * b, 1);
  if (m.k === 'fp16') {
    const ref = refOf(srcs, m.src);
    return { kind: 'dense', dtype: 'fp16', shape: m.shape, values: await floats(ref) };
  }
  if (m.k === 'affine') {
    const qref = refOf(srcs, m.q);
    const signed = m.qdtype === 'int8' || m.qdtype === 'int4';
    let data: Int8Array | Uint8Array;
    if (m.pack === 8 || m.pack === 0) data = rawToCodes(qref.dt, await readRaw(qref), n);
    else {
      const u = await unpackCodes(qref, m.pack, n);
      data = signed ? new Int8Array(n) : new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = u[i] - m.ushift;
    }
    const scale = await floats(refOf(srcs, m.scale));
    let offset: Int8Array | Uint8Array | undefined;
    if (m.zp) {
      const z = refOf(srcs, m.zp);
      offset = rawToCodes(z.dt, await readRaw(z), z.count);
    } else if (m.offset) {
      const o = await floats(refOf(srcs, m.offset));
      offset = signed ? new Int8Array(o.length) : new Uint8Array(o.length);
      for (let i = 0; i < o.length; i++) offset[i] = Math.round(o[i]) - m.ushift;
    }
    return { kind: 'affine', dtype: m.dtype, qdtype: m.qdtype, shape: m.shape, data, scale, scaleShape: m.scaleShape, offset };
  }
  const ni = m.indicesShape.reduce((a, b) => a * b, 1);
  const indices = await unpackCodes(refOf(srcs, m.idx), m.pack, ni);
  let lut: Float32Array;
  let lutQuant: LutRepr['lutQuant'];
  if (m.lutQ) {
    const qref = refOf(srcs, m.lutQ.q);
    const data = rawToCodes(qref.dt, await readRaw(qref), qref.count);
    const scale = await floats(refOf(srcs, m.lutQ.scale));
    const off = m.lutQ.offset ? await floats(refOf(srcs, m.lutQ.offset)) : undefined;
    lut = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) lut[i] = Math.fround((data[i] - (off ? off[0] : 0)) * scale[0]);
    let offset: Int8Array | Uint8Array | undefined;
    if (off) {
      offset = m.lutQ.qdtype === 'int8' ? new Int8Array(1) : new Uint8Array(1);
      offset[0] = Math.round(off[0]);
    }
    lutQuant = { qdtype: m.lutQ.qdtype, data, scale, scaleShape: m.lutShape.map(() => 1), offset };
  } else lut = await floats(refOf(srcs, m.lut!));
  const rep: LutRepr = {
    kind: 'lut',
    dtype: m.dtype,
    nbits: m.nbits,
    shape: m.shape,
    indices,
    indicesShape: m.indicesShape,
    lut,
    lutShape: m.lutShape,
    vectorAxis: m.vectorAxis,
    lutQuant,
  };
  if (m.pcs) rep.perChannelScale = { scale: await floats(refOf(srcs, m.pcs.scale)), shape: m.pcs.shape };
  return rep;
}

export async function readSparseRepr(s: TensorSource, info: WeightInfo): Promise<SparseRepr> {
  if (s.kind !== 'sparse' && s.kind !== 'sparse-const') throw new ShrinkrayError('internal', `${info.name} is not sparse`);
  const shape = s.dims;
  const n = shape.reduce((a, b) => a * b, 1);
  const nnz = s.values.count;
  const vals = rawToFloat32(s.values.dt, await readRaw(s.values), nnz);
  const idxRaw = await readRaw(s.indices);
  const idx = rawToFloat32(s.indices.dt, idxRaw, s.indices.count);
  const rank = shape.length;
  const linear = new Float64Array(nnz);
  if (s.indices.dims.length === 2 && s.indices.dims[1] === rank && rank > 1) {
    for (let k = 0; k < nnz; k++) {
      let li = 0;
      for (let d = 0; d < rank; d++) li = li * shape[d] + idx[k * rank + d];
      linear[k] = li;
    }
  } else {
    if (s.indices.count !== nnz) throw new ShrinkrayError('protobuf-decode', `sparse tensor ${info.name}: ${s.indices.count} indices for ${nnz} values`);
    linear.set(idx);
  }
  const mask = new Uint8Array(n);
  const dense = new Float32Array(n);
  for (let k = 0; k < nnz; k++) {
    const li = linear[k];
    if (!(li >= 0 && li < n)) throw new ShrinkrayError('protobuf-decode', `sparse tensor ${info.name}: index ${li} outside shape [${shape.join(',')}]`);
    mask[li] = 1;
    dense[li] = vals[k];
  }
  let nz = 0;
  for (let i = 0; i < n; i++) nz += mask[i];
  const values = new Float32Array(nz);
  for (let i = 0, k = 0; i < n; i++) if (mask[i]) values[k++] = dense[i];
  return { kind: 'sparse', dtype: s.values.dt === DT.FLOAT16 ? 'fp16' : 'fp32', shape, mask, values };
}
