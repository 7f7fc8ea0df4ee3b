/**
 * The stored representation of an ML-program weight (the shared `Compressed` forms) from its constexpr
 * chain, plus what the inventory shows of it (compression kind, nbits, granularity, stored bytes).
 */
import type { AffineRepr, Compressed, FloatDtype, LutRepr, SparseRepr } from '../../compress/types';
import type { ExistingCompression } from '../../model/types';
import { BY_NAME, storedBytes } from './dtypes';
import { evalChain, rawToArr, type Arr, type RawReader } from './eval';
import { unpackLSB } from '../../tensor/pack';
import type { MilOp, MilWeight, Param } from './mil';
import { prod } from './values';

const META_PARAMS = new Set(['shape', 'axis', 'vector_axis', 'output_dtype']);

/** Exact stored bytes of a weight: every literal tensor of its chain (data, LUT, scales, offsets, masks). */
export function weightBytes(w: MilWeight): number {
  let n = 0;
  for (const op of w.chain) {
    for (const [k, p] of Object.entries(op.params)) {
      if (META_PARAMS.has(k) && op.type !== 'const') continue;
      if (p.value && p.value.dtype !== 'string' && !(p.from && w.chain.some((o) => o.outputs.some((x) => x.name === p.from)))) {
        n += storedBytes(p.value.dtype, p.value.count);
      }
    }
  }
  return n;
}

/** Bytes of each literal by dtype, for the summary. */
export function bytesByDtype(w: MilWeight, into: Record<string, number>): void {
  for (const op of w.chain) {
    for (const [k, p] of Object.entries(op.params)) {
      if (META_PARAMS.has(k) && op.type !== 'const') continue;
      if (!p.value || p.value.dtype === 'string') continue;
      into[p.value.dtype] = (into[p.value.dtype] ?? 0) + storedBytes(p.value.dtype, p.value.count);
    }
  }
}

const lit = (op: MilOp | undefined, k: string) => op?.params[k]?.value;

function granularityOf(shape: number[], gshape: number[]): string {
  const non1 = gshape.filter((g) => g > 1).length;
  if (non1 === 0) return 'per_tensor';
  if (non1 === 1 && gshape.every((g, d) => g === 1 || g === shape[d])) return 'per_channel';
  return 'per_block';
}

function nbitsOf(dtype: string): number {
  return BY_NAME.get(dtype)?.bits ?? 8;
}

/** Kind / nbits / granularity of an existing constexpr chain, from the value types alone. */
export function describeChain(w: MilWeight): ExistingCompression | undefined {
  const chain = w.chain;
  if (chain.length === 1 && chain[0].type === 'const') return undefined;
  const types = chain.map((o) => o.type);
  const has = (t: string) => chain.find((o) => o.type === `constexpr_${t}`);
  const opChain = types;
  const lutOp = has('lut_to_dense') ?? has('lut_to_sparse');
  const sparse = !!has('sparse_to_dense');
  if (lutOp) {
    const lut = lit(lutOp, 'lut') ?? lutLiteral(chain, lutOp);
    const ind = lit(lutOp, 'indices') ?? lit(lutOp, 'indices_nonzero_data');
    let nbits = ind ? nbitsOf(ind.dtype) : 0;
    let gran = 'per_tensor';
    if (lutOp.params.shape) {
      nbits = lut ? Math.log2(lut.count) : nbits;
    } else if (lut) {
      const K = lut.shape.length - 2;
      const V = lut.shape[K + 1];
      nbits = Math.log2(lut.shape[K]);
      if (V > 1) gran = 'vector';
      else if (lut.shape.slice(0, K).some((g) => g > 1)) gran = 'per_grouped_channel';
    }
    const kind = (sparse ? 'sparse+' : '') + 'palettized' + (has('blockwise_shift_scale') ? (isIntLut(chain) ? '+quantized-lut' : '+per-channel-scale') : '');
    return { kind, nbits, granularity: gran, opChain };
  }
  const aff = has('affine_dequantize');
  if (aff) {
    const q = lit(aff, 'quantized_data');
    const sc = lit(aff, 'scale');
    return { kind: 'quantized', nbits: q ? nbitsOf(q.dtype) : 8, granularity: sc && sc.shape.length === 1 && sc.count > 1 ? 'per_channel' : 'per_tensor', opChain };
  }
  const bss = has('blockwise_shift_scale') ?? has('sparse_blockwise_shift_scale');
  if (bss) {
    const d = lit(bss, 'data') ?? lit(bss, 'nonzero_data');
    const sc = lit(bss, 'scale');
    const shape = lit(bss, 'data_mask')?.shape ?? d?.shape ?? w.shape;
    return {
      kind: (sparse ? 'sparse+' : '') + 'quantized',
      nbits: d ? nbitsOf(d.dtype) : 8,
      granularity: sc ? granularityOf(shape, sc.shape) : undefined,
      opChain,
    };
  }
  if (sparse) return { kind: 'sparse', opChain };
  return { kind: types.join('+'), opChain };
}

function lutLiteral(chain: MilOp[], lutOp: MilOp) {
  const from = lutOp.params.lut?.from;
  const src = chain.find((o) => o.outputs.some((x) => x.name === from));
  return src ? lit(src, 'data') : undefined;
}

function isIntLut(chain: MilOp[]): boolean {
  const bss = chain.find((o) => o.type === 'constexpr_blockwise_shift_scale');
  const d = bss ? lit(bss, 'data') : undefined;
  return !!d && !d.dtype.startsWith('fp') && !!chain.find((o) => o.type.startsWith('constexpr_lut_to') && o.params.lut?.from);
}

// ---------------------------------------------------------------------------------------------

function fdt(d: string): FloatDtype {
  return d === 'fp32' ? 'fp32' : 'fp16';
}

function intArr(a: Arr): Int8Array | Uint8Array {
  return a.dtype === 'int8' || a.dtype === 'int4' ? Int8Array.from(a.data) : Uint8Array.from(a.data);
}

function qd(d: string): AffineRepr['qdtype'] {
  if (d === 'int8' || d === 'uint8' || d === 'int4' || d === 'uint4') return d;
  throw new Error(`quantized data of dtype ${d} has no shared representation`);
}

/** Loads the literal and chained inputs of every op of the chain, by (op index, param). */
async function inputsOf(w: MilWeight, read: RawReader) {
  const env = await evalChain(w.chain, read);
  const cache = new Map<Param, Arr | undefined>();
  return async (op: MilOp, k: string): Promise<Arr | undefined> => {
    const p = op.params[k];
    if (!p) return undefined;
    if (cache.has(p)) return cache.get(p);
    let a: Arr | undefined;
    if (p.from && env.has(p.from)) a = env.get(p.from);
    else if (p.value && p.value.dtype !== 'string') a = rawToArr(await read(p.value), p.value.dtype, p.value.shape);
    cache.set(p, a);
    return a;
  };
}

export async function chainRepr(w: MilWeight, read: RawReader, dense: () => Promise<Float32Array>): Promise<Compressed> {
  const chain = w.chain;
  const dtype = fdt(w.dtype);
  const shape = w.shape;
  if (chain.length === 1 && chain[0].type === 'const') return { kind: 'dense', dtype, shape, values: await dense() };
  const get = await inputsOf(w, read);
  const find = (t: string) => chain.find((o) => o.type === `constexpr_${t}`);
  const last = chain[chain.length - 1];

  const lutRepr = async (lutOp: MilOp, denseShape: number[]): Promise<LutRepr> => {
    const lutA = (await get(lutOp, 'lut'))!;
    let lutQuant: LutRepr['lutQuant'];
    let perChannelScale: LutRepr['perChannelScale'];
    let lutVals = lutA.data;
    let lutShape = lutA.shape;
    const fromOp = chain.find((o) => o.outputs.some((x) => x.name === lutOp.params.lut?.from));
    if (fromOp?.type === 'constexpr_blockwise_shift_scale') {
      const d = (await get(fromOp, 'data'))!;
      const sc = (await get(fromOp, 'scale'))!;
      const off = await get(fromOp, 'offset');
      if (d.dtype.startsWith('fp')) {
        // per-channel scale, folded by coremltools into a tiled LUT: keep the unscaled LUT and the scale
        lutVals = d.data;
        lutShape = d.shape;
        perChannelScale = { scale: sc.data, shape: sc.shape.slice(0, sc.shape.length - 2) };
      } else {
        lutQuant = { qdtype: d.dtype as 'int8' | 'uint8', data: intArr(d), scale: sc.data, scaleShape: sc.shape, offset: off ? intArr(off) : undefined };
      }
    }
    const indName = lutOp.params.indices ? 'indices' : 'indices_nonzero_data';
    const ind = (await get(lutOp, indName))!;
    if (lutOp.params.shape) {
      // iOS16: packed uint8 indices + rank-1 LUT → the iOS18 form (formats.md §5.13)
      const N = lutA.data.length;
      const nbits = Math.log2(N);
      const codes = unpackLSB(Uint8Array.from(ind.data), nbits, prod(denseShape));
      return {
        kind: 'lut', dtype, nbits, shape: denseShape, indices: codes, indicesShape: denseShape,
        lut: lutA.data, lutShape: [...denseShape.map(() => 1), N, 1],
      };
    }
    const K = lutShape.length - 2;
    const va = lutOp.params.vector_axis ? (await get(lutOp, 'vector_axis'))!.data[0] : undefined;
    const indicesShape = lutOp.params.indices ? ind.shape : (await get(lutOp, 'indices_mask'))!.shape;
    return {
      kind: 'lut', dtype, nbits: Math.log2(lutShape[K]), shape: denseShape,
      indices: Uint8Array.from(ind.data), indicesShape, lut: lutVals, lutShape,
      vectorAxis: lutShape[K + 1] > 1 ? va ?? 0 : undefined, lutQuant, perChannelScale,
    };
  };

  const affineRepr = async (op: MilOp, denseShape: number[]): Promise<AffineRepr> => {
    if (op.type === 'constexpr_affine_dequantize') {
      const q = (await get(op, 'quantized_data'))!;
      const zp = (await get(op, 'zero_point'))!;
      const sc = (await get(op, 'scale'))!;
      let axis = (await get(op, 'axis'))?.data[0] ?? 0;
      if (axis < 0) axis += q.shape.length;
      const perAxis = sc.shape.length === 1 && sc.data.length > 1;
      const scaleShape = q.shape.map((s, d) => (perAxis && d === axis ? s : 1));
      const zeros = zp.data.every((v) => v === 0);
      let offset: Int8Array | Uint8Array | undefined;
      if (!(zeros && q.dtype === 'int8')) {
        const n = prod(scaleShape);
        const z = zp.data.length === 1 ? new Float32Array(n).fill(zp.data[0]) : zp.data;
        offset = q.dtype === 'int8' ? Int8Array.from(z) : Uint8Array.from(z);
      }
      return { kind: 'affine', dtype, qdtype: qd(q.dtype), shape: q.shape, data: intArr(q), scale: sc.data.length === prod(scaleShape) ? sc.data : new Float32Array(prod(scaleShape)).fill(sc.data[0]), scaleShape, offset };
    }
    const dataK = op.params.data ? 'data' : 'nonzero_data';
    const d = (await get(op, dataK))!;
    const sc = (await get(op, 'scale'))!;
    const off = await get(op, 'offset');
    return { kind: 'affine', dtype, qdtype: qd(d.dtype), shape: denseShape, data: intArr(d), scale: sc.data, scaleShape: sc.shape, offset: off ? intArr(off) : undefined };
  };

  if (last.type === 'constexpr_sparse_to_dense') {
    const values = (await get(last, 'nonzero_data'))!.data;
    let mask: Uint8Array;
    if (last.params.shape) {
      mask = unpackLSB(Uint8Array.from((await get(last, 'mask'))!.data), 1, prod(shape));
    } else {
      mask = Uint8Array.from((await get(last, 'mask'))!.data);
    }
    const rep: SparseRepr = { kind: 'sparse', dtype, shape, mask, values: Float32Array.from(values) };
    const lts = find('lut_to_sparse');
    const sbss = find('sparse_blockwise_shift_scale');
    if (lts) rep.inner = await lutRepr(lts, shape);
    else if (sbss) rep.inner = await affineRepr(sbss, shape);
    return rep;
  }
  const lutOp = find('lut_to_dense');
  if (lutOp) {
    const r = await lutRepr(lutOp, lutOp === last ? shape : lutOp.outputs[0].shape);
    if (last.type === 'constexpr_blockwise_shift_scale' && last.params.data?.from) {
      // the un-folded per-channel-scale form: lut_to_dense → blockwise_shift_scale(scale = pcs)
      const sc = (await get(last, 'scale'))!;
      r.perChannelScale = { scale: sc.data, shape: sc.shape };
    }
    return r;
  }
  const q = find('affine_dequantize') ?? find('blockwise_shift_scale');
  if (q && chain.length === 1) return affineRepr(q, shape);
  // anything else (e.g. constexpr_cast): the decompressed values as a dense tensor
  return { kind: 'dense', dtype, shape, values: await dense() };
}
