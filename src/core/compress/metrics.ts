/**
 * Per-weight metrics: exact storage bytes of a representation (as the Core ML writer stores the payload:
 * packed codes, LUTs, scales, offsets, masks; 64-byte blob alignment and protobuf framing excluded), and the
 * error of the decompressed values against the original (MSE, SNR dB, max |err|), sparsity, distinct values.
 */
import { F16_TABLE, f32ToF16 } from '../tensor/fp16';
import type { DenseTensor } from '../model/types';
import type { AffineRepr, Compressed, FloatDtype, LutRepr, SparseRepr, Target } from './types';
import { decompress, effectiveLut } from './decompress';
import { forEachRun } from './quantize/quantize';
import { numel } from './numeric';

export interface Metrics {
  bytesBefore: number;
  bytesAfter: number;
  mse: number;
  snrDb: number;
  maxAbsErr: number;
  sparsity: number;
  distinct: number;
  bitsPerWeight: number;
}

const dtBytes = (d: FloatDtype) => (d === 'fp16' ? 2 : 4);
const qBits = (q: string) => (q.endsWith('4') ? 4 : 8);
const packed = (count: number, bits: number) => Math.ceil((count * bits) / 8);

function lutBytes(r: LutRepr, codes: number): number {
  let b = packed(codes, r.nbits);
  if (r.lutQuant) {
    b += r.lut.length; // int8 / uint8 LUT
    b += r.lutQuant.scale.length * dtBytes(r.dtype);
    if (r.lutQuant.offset) b += r.lutQuant.offset.length;
  } else b += r.lut.length * dtBytes(r.dtype);
  if (r.perChannelScale) {
    // coremltools' save pipeline tiles the LUT per scale block (formats.md / fixtures README "surprises")
    const blocks = r.perChannelScale.scale.length;
    const lutGroups = r.lut.length / (r.lutShape[r.lutShape.length - 2] * r.lutShape[r.lutShape.length - 1]);
    const tile = Math.max(1, blocks / lutGroups);
    b += (tile - 1) * r.lut.length * dtBytes(r.dtype);
    b += blocks * dtBytes(r.dtype);
  }
  return b;
}

function affineBytes(r: AffineRepr, codes: number, target: Target): number {
  const bits = qBits(r.qdtype);
  let b = packed(codes, bits) + r.scale.length * dtBytes(r.dtype);
  if (r.offset) b += packed(r.offset.length, bits);
  else if (target !== 'iOS18') b += r.scale.length; // iOS16 constexpr_affine_dequantize needs a zero_point
  return b;
}

/** Exact payload bytes of a representation. */
export function reprBytes(r: Compressed, target: Target = 'iOS18'): number {
  switch (r.kind) {
    case 'dense':
      return numel(r.shape) * dtBytes(r.dtype);
    case 'lut':
      return lutBytes(r, r.indices.length);
    case 'affine':
      return affineBytes(r, r.data.length, target);
    case 'sparse': {
      const n = r.mask.length;
      let b = packed(n, 1);
      if (!r.inner) b += r.values.length * dtBytes(r.dtype);
      else if (r.inner.kind === 'lut') b += lutBytes(r.inner, r.inner.indices.length);
      else b += affineBytes(r.inner, r.inner.data.length, target);
      return b;
    }
    case 'nnlinear':
      return packed(r.data.length, r.nbits) + 4 * (r.scale.length + r.bias.length);
  }
}

/** Calls fn(i, value) for every element of the decompressed tensor, without materialising it when avoidable. */
export function forEachDecoded(r: Compressed, fn: (i: number, v: number) => void): void {
  if (r.kind === 'lut' && r.lutShape[r.lutShape.length - 1] === 1 && !r.perChannelScale) {
    const lut = effectiveLut(r);
    const K = r.lutShape[r.shape.length];
    forEachRun(r.indicesShape, r.lutShape.slice(0, r.shape.length), (s, len, g) => {
      const base = g * K;
      for (let i = s; i < s + len; i++) fn(i, lut[base + r.indices[i]]);
    });
    return;
  }
  if (r.kind === 'sparse' && !r.inner) {
    let j = 0;
    const m = r.mask;
    for (let i = 0; i < m.length; i++) fn(i, m[i] ? r.values[j++] : 0);
    return;
  }
  const d = decompress(r);
  for (let i = 0; i < d.length; i++) fn(i, d[i]);
}

export function computeMetrics(dense: DenseTensor, repr: Compressed, target: Target = 'iOS18'): Metrics {
  const n = numel(dense.shape);
  const bytesBefore = n * dtBytes(dense.dtype);
  const bytesAfter = reprBytes(repr, target);
  const bits = dense.dtype === 'fp16' ? (dense.data as Uint16Array) : null;
  const fl = bits ? null : (dense.data as Float32Array);
  const tab = F16_TABLE;
  let se = 0;
  let sig = 0;
  let mx = 0;
  let zeros = 0;
  const seen16 = new Uint8Array(65536);
  const fp16Out = repr.dtype === 'fp16';
  const others: number[] = [];
  let fp32Vals: Float32Array | null = fp16Out ? null : new Float32Array(n);
  forEachDecoded(repr, (i, v) => {
    const w = bits ? tab[bits[i]] : fl![i];
    const e = w - v;
    se += e * e;
    sig += w * w;
    const a = e < 0 ? -e : e;
    if (a > mx) mx = a;
    if (v === 0) zeros++;
    if (fp16Out) seen16[f32ToF16(v) === 0x8000 ? 0 : f32ToF16(v)] = 1;
    else fp32Vals![i] = v;
  });
  let distinct = 0;
  if (fp16Out) for (let h = 0; h < 65536; h++) distinct += seen16[h];
  else {
    const s = fp32Vals!.sort();
    for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) distinct++;
    fp32Vals = null;
  }
  void others;
  const mse = n ? se / n : 0;
  const snrDb = se === 0 ? Infinity : sig === 0 ? -Infinity : 10 * Math.log10(sig / se);
  return {
    bytesBefore,
    bytesAfter,
    mse,
    snrDb,
    maxAbsErr: mx,
    sparsity: n ? zeros / n : 0,
    distinct,
    bitsPerWeight: n ? (bytesAfter * 8) / n : 0,
  };
}

/** Sum of squared errors in float64 (golden SSE rule). */
export function sse(dense: DenseTensor, repr: Compressed): number {
  const bits = dense.dtype === 'fp16' ? (dense.data as Uint16Array) : null;
  const fl = bits ? null : (dense.data as Float32Array);
  let s = 0;
  forEachDecoded(repr, (i, v) => {
    const w = bits ? F16_TABLE[bits[i]] : fl![i];
    s += (w - v) * (w - v);
  });
  return s;
}
