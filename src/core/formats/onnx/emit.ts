/**
 * Dequantization chains for each representation, using only ops that the model's default-domain opset has:
 * DequantizeLinear where its version allows the granularity and type (10 per-tensor, 13 per-axis, 21 blocked
 * and int4/uint4), otherwise Cast/Sub/Mul (opset 7+). Sub-byte codes are stored packed: native INT4/UINT4 at
 * opset 21 / IR 10, elsewhere as UINT8 bytes unpacked at run time with exact float ops (Floor, Mul, Sub, Concat).
 */
import type { AffineRepr, LutRepr } from '../../compress/types';
import { ShrinkrayError } from '../../errors';
import { f32ArrayToF16 } from '../../tensor/fp16';
import { packLSB } from '../../tensor/pack';
import { Chain } from './build';
import { DT } from './dtypes';
import { forEachBlock } from './repr';

export interface EmitEnv {
  opset: number;
  ir: number;
  file: string;
}

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function requireOpset(env: EmitEnv, min: number, what: string) {
  if (env.opset < min) {
    throw new ShrinkrayError('target-too-low', `${env.file}: ${what} needs ONNX opset ${min} or later; this model declares opset ${env.opset}`, env.file);
  }
}

/** Values (float32) as the bytes of an initializer of type dt (FLOAT or FLOAT16). */
export function floatBytes(values: Float32Array, dt: number): Uint8Array {
  if (dt === DT.FLOAT16) {
    const h = f32ArrayToF16(values);
    return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
  }
  const f = values.byteOffset % 4 === 0 ? values : values.slice();
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}

function codeBytes(data: Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Unpacks `per` codes of `bits` bits from each byte of a UINT8 [m,1] initializer into a float tensor of shape
 * `shape` (m*per elements), with exact float arithmetic (values < 256).
 */
function unpackFloat(c: Chain, packed: string, bits: number, shape: number[]): string {
  const per = 8 / bits;
  let rest = c.node('Cast', [packed], [{ name: 'to', i: DT.FLOAT }]);
  const inv = c.f32('inv', [], [1 / (1 << bits)]);
  const mul = c.f32('radix', [], [1 << bits]);
  const parts: string[] = [];
  for (let j = 0; j < per - 1; j++) {
    const q = c.node('Floor', [c.node('Mul', [rest, inv])]);
    parts.push(c.node('Sub', [rest, c.node('Mul', [q, mul])]));
    rest = q;
  }
  parts.push(rest);
  const cat = c.node('Concat', parts, [{ name: 'axis', i: 1 }]);
  return c.node('Reshape', [cat, c.i64('shape', shape)]);
}

function castTo(c: Chain, v: string, from: number, to: number): string {
  return from === to ? v : c.node('Cast', [v], [{ name: 'to', i: to }]);
}

/** Affine codes → weight. `outDt` is the element type the consumers read. */
export function emitAffine(c: Chain, r: AffineRepr, out: string, outDt: number, env: EmitEnv): void {
  const S = r.shape;
  const T = r.scaleShape;
  const n = prod(S);
  if (T.length !== S.length || T.some((t, d) => t < 1 || S[d] % t !== 0)) {
    throw new ShrinkrayError('invalid-option', `${env.file}: ${out}: scale shape [${T}] does not tile shape [${S}]`, env.file);
  }
  const eightBit = r.qdtype === 'int8' || r.qdtype === 'uint8';
  const signed = r.qdtype === 'int8' || r.qdtype === 'int4';
  const qdt = { int8: DT.INT8, uint8: DT.UINT8, int4: DT.INT4, uint4: DT.UINT4 }[r.qdtype];
  const partial = S.map((_, d) => d).filter((d) => T[d] > 1 && T[d] < S[d]);
  const full = S.map((_, d) => d).filter((d) => T[d] === S[d] && S[d] > 1);
  const hasOffset = !!r.offset && r.offset.some((v) => v !== 0);
  const int4ok = env.opset >= 21 && env.ir >= 10;
  const meta = { k: 'affine' as const, dtype: r.dtype, shape: S, qdtype: r.qdtype };

  // --- DequantizeLinear
  let dq: { axis?: number; block?: number; M: number[] } | undefined;
  if (partial.length === 0 && full.length === 0 && (eightBit ? env.opset >= 10 : int4ok)) dq = { M: [] };
  else if (partial.length === 0 && full.length === 1 && (eightBit ? env.opset >= 13 : int4ok)) dq = { axis: full[0], M: [S[full[0]]] };
  else if (partial.length === 1 && env.opset >= 21 && env.ir >= 10) {
    const a = partial[0];
    dq = { axis: a, block: S[a] / T[a], M: S.map((s, d) => (d === a ? T[a] : s)) };
  }
  if (dq) {
    const D = dq;
    const q = c.init('quantized', qdt, S, () => (eightBit ? codeBytes(r.data) : packLSB(r.data, 4)));
    // scale (and zero point) laid out as DequantizeLinear wants: scalar, 1-D, or materialized to the data rank
    const m = prod(D.M);
    const sc = new Float32Array(m);
    const zp = hasOffset ? new Uint8Array(m) : undefined;
    const mShape = D.block ? D.M : S.map((s, d) => (d === D.axis ? s : 1));
    forEachBlock(mShape, T.map((t, d) => (D.block ? t : d === D.axis ? t : 1)), (i, b) => {
      sc[i] = r.scale[b];
      if (zp) zp[i] = r.offset![b] & 0xff;
    });
    const scale = c.f32('scale', D.M, sc);
    const inputs = [q, scale];
    let zpName: string | undefined;
    if (zp) {
      zpName = c.init('zero_point', qdt, D.M, eightBit ? zp : packLSB(zp, 4));
      inputs.push(zpName);
    }
    const attrs = [];
    if (D.axis !== undefined) attrs.push({ name: 'axis', i: D.axis });
    if (D.block) attrs.push({ name: 'block_size', i: D.block });
    const v = castTo(c, c.node('DequantizeLinear', inputs, attrs), DT.FLOAT, outDt);
    const scaleShape = D.block ? D.M : mShape;
    c.finish(v, out, { ...meta, scaleShape, q, pack: 0, ushift: 0, scale, ...(zpName ? { zp: zpName } : {}) });
    return;
  }

  // --- Cast / Sub / Mul on a split shape: axis d with 1 < T[d] < S[d] becomes [T[d], S[d]/T[d]]
  requireOpset(env, 7, 'dequantization with Cast/Sub/Mul');
  const E: number[] = [];
  const ST: number[] = [];
  S.forEach((s, d) => {
    if (T[d] > 1 && T[d] < s) {
      E.push(T[d], s / T[d]);
      ST.push(T[d], 1);
    } else {
      E.push(s);
      ST.push(T[d]);
    }
  });
  let x: string;
  let pack: number;
  let ushift = 0;
  let qName: string;
  if (!eightBit && n % 2 === 0) {
    ushift = signed ? 8 : 0;
    qName = c.init('quantized_packed', DT.UINT8, [n / 2, 1], () => {
      const u = new Uint8Array(n);
      for (let i = 0; i < n; i++) u[i] = r.data[i] + ushift;
      return packLSB(u, 4);
    });
    x = unpackFloat(c, qName, 4, E);
    pack = 4;
  } else {
    // 8-bit codes (int4 codes of an odd-sized tensor are stored one per byte)
    const dt = signed ? DT.INT8 : DT.UINT8;
    qName = c.init('quantized', dt, E, () => codeBytes(r.data));
    x = c.node('Cast', [qName], [{ name: 'to', i: DT.FLOAT }]);
    pack = 8;
  }
  let offName: string | undefined;
  if (hasOffset || ushift) {
    const off = new Float32Array(prod(T));
    for (let i = 0; i < off.length; i++) off[i] = (r.offset ? r.offset[i] : 0) + ushift;
    offName = c.f32('offset', ST, off);
    x = c.node('Sub', [x, offName]);
  }
  const scale = c.f32('scale', ST, r.scale);
  x = c.node('Mul', [x, scale]);
  if (!sameShape(E, S)) x = c.node('Reshape', [x, c.i64('shape', S)]);
  x = castTo(c, x, DT.FLOAT, outDt);
  c.finish(x, out, { ...meta, scaleShape: T, q: qName, pack, ushift, scale, ...(offName ? { offset: offName } : {}) });
}

/** Codebook + indices → weight (Cast + Gather, with group offsets, vector transpose, per-channel scale). */
export function emitLut(c: Chain, r: LutRepr, out: string, outDt: number, env: EmitEnv): void {
  requireOpset(env, 7, 'palettized weights (Cast + Gather)');
  const S = r.shape;
  const K = S.length;
  const I = r.indicesShape;
  const L = r.lutShape[K];
  const V = r.lutShape[K + 1] ?? 1;
  const G = r.lutShape.slice(0, K);
  const Gtot = prod(G);
  const ni = prod(I);
  const a = V > 1 ? (r.vectorAxis ?? 0) : -1;
  if (r.lutShape.length < K + 1 || I.length !== K) {
    throw new ShrinkrayError('invalid-option', `${env.file}: ${out}: LUT shape [${r.lutShape}] does not match weight rank ${K}`, env.file);
  }
  for (let d = 0; d < K; d++) {
    if (I[d] % G[d] !== 0 || (V > 1 && d === a && (S[d] / G[d]) % V !== 0)) {
      throw new ShrinkrayError(
        'invalid-option',
        `${env.file}: ${out}: cannot express this grouped/vector LUT in ONNX (axis ${d}: ${G[d]} groups over ${I[d]} indices, vector length ${V})`,
        env.file,
      );
    }
  }
  const tableDt = outDt === DT.FLOAT16 ? DT.FLOAT16 : DT.FLOAT;
  // index tensor in split shape: grouped axes become [G_d, I_d/G_d]
  const EI: number[] = [];
  const OS: number[] = [];
  let vecPos = -1;
  I.forEach((s, d) => {
    if (G[d] > 1) {
      EI.push(G[d], s / G[d]);
      OS.push(G[d], 1);
    } else {
      EI.push(s);
      OS.push(1);
    }
    if (d === a) vecPos = EI.length - 1;
  });
  const bits = r.nbits <= 1 ? 1 : r.nbits <= 2 ? 2 : r.nbits <= 4 ? 4 : 8;
  let idx32: string;
  let idxName: string;
  let pack: number | 'u4';
  if (bits <= 4 && env.opset >= 21 && env.ir >= 10) {
    idxName = c.init('indices', DT.UINT4, EI, () => packLSB(r.indices, 4, ni));
    idx32 = c.node('Cast', [idxName], [{ name: 'to', i: DT.INT32 }]);
    pack = 'u4';
  } else if (bits < 8 && ni % (8 / bits) === 0) {
    idxName = c.init('indices_packed', DT.UINT8, [ni / (8 / bits), 1], () => packLSB(r.indices, bits, ni));
    idx32 = c.node('Cast', [unpackFloat(c, idxName, bits, EI)], [{ name: 'to', i: DT.INT32 }]);
    pack = bits;
  } else {
    idxName = c.init('indices', DT.UINT8, EI, () => r.indices.subarray(0, ni));
    idx32 = c.node('Cast', [idxName], [{ name: 'to', i: DT.INT32 }]);
    pack = 8;
  }
  if (Gtot > 1) {
    const offs = new Int32Array(Gtot);
    for (let g = 0; g < Gtot; g++) offs[g] = g * L;
    const o = c.init('group_offsets', DT.INT32, OS, new Uint8Array(offs.buffer));
    idx32 = c.node('Add', [idx32, o]);
  }
  const tDims = V > 1 ? [Gtot * L, V] : [Gtot * L];
  let table: string;
  let lutName: string | undefined;
  let lutQ: { qdtype: 'int8' | 'uint8'; q: string; scale: string; offset?: string } | undefined;
  if (r.lutQuant) {
    const lq = r.lutQuant;
    const q = c.init('lut_quantized', lq.qdtype === 'int8' ? DT.INT8 : DT.UINT8, tDims, codeBytes(lq.data));
    let t = c.node('Cast', [q], [{ name: 'to', i: DT.FLOAT }]);
    let offName: string | undefined;
    if (lq.offset && lq.offset[0] !== 0) {
      offName = c.f32('lut_offset', [], [lq.offset[0]]);
      t = c.node('Sub', [t, offName]);
    }
    const sc = c.f32('lut_scale', [], [lq.scale[0]]);
    table = castTo(c, c.node('Mul', [t, sc]), DT.FLOAT, tableDt);
    lutQ = { qdtype: lq.qdtype, q, scale: sc, ...(offName ? { offset: offName } : {}) };
  } else {
    table = lutName = c.init('lut', tableDt, tDims, floatBytes(r.lut, tableDt));
  }
  let x = c.node('Gather', [table, idx32], [{ name: 'axis', i: 0 }]);
  const cur = V > 1 ? [...EI, V] : EI;
  if (V > 1) {
    const perm = [...Array(EI.length).keys()];
    perm.splice(vecPos + 1, 0, EI.length);
    x = c.node('Transpose', [x], [{ name: 'perm', ints: perm }]);
  }
  if (V > 1 || !sameShape(cur, S)) x = c.node('Reshape', [x, c.i64('shape', S)]);
  let pcs: { scale: string; shape: number[] } | undefined;
  if (r.perChannelScale) {
    const s = c.init('channel_scale', tableDt, r.perChannelScale.shape, floatBytes(r.perChannelScale.scale, tableDt));
    x = c.node('Mul', [x, s]);
    pcs = { scale: s, shape: r.perChannelScale.shape };
  }
  x = castTo(c, x, tableDt, outDt);
  c.finish(x, out, {
    k: 'lut',
    dtype: r.dtype,
    shape: S,
    nbits: r.nbits,
    indicesShape: I,
    lutShape: r.lutShape,
    ...(r.vectorAxis !== undefined ? { vectorAxis: r.vectorAxis } : {}),
    idx: idxName,
    pack,
    ...(lutName ? { lut: lutName } : {}),
    ...(lutQ ? { lutQ } : {}),
    ...(pcs ? { pcs } : {}),
  });
}

/** fp16 storage of a float32 weight: FLOAT16 initializer + Cast to the consumers' type. */
export function emitFp16(c: Chain, values: () => Float32Array, shape: number[], out: string, outDt: number): void {
  const src = c.init('fp16', DT.FLOAT16, shape, () => floatBytes(values(), DT.FLOAT16));
  const v = c.node('Cast', [src], [{ name: 'to', i: outDt }]);
  c.finish(v, out, { k: 'fp16', dtype: outDt === DT.FLOAT16 ? 'fp16' : 'fp32', shape, src });
}
