/**
 * Per-weight metrics: exact storage bytes of a representation (as the Core ML writer stores the payload:
 * packed codes, LUTs, scales, offsets, masks; 64-byte blob alignment and protobuf framing excluded), and the
 * error of the decompressed values against the original (MSE, SNR dB, max |err|), sparsity, distinct values.
 */
import { CHUNK } from '../tensor/pieces';
import { F16_TABLE, f32ToF16 } from '../tensor/fp16';
import type { DenseTensor } from '../model/types';
import type { AffineRepr, Compressed, FloatDtype, LutRepr, SparseRepr, Target } from './types';
import { decompress, effectiveLut } from './decompress';
import { forEachRun } from './quantize/quantize';
import { numel } from './numeric';
import { getHint } from './hints';
import { nonzeroCount } from './prune/compact';

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

/**
 * Exact payload bytes of a representation as the Core ML writer stores it (checked against every golden
 * coremltools output). For ONNX the writer's forms depend on the opset (fp32 scales below opset 19, UINT8
 * indices for 3/6-bit LUTs below opset 21, INT32 group offsets, COO sparse initializers), so this count is the
 * Core ML payload; for ONNX models the engine replaces bytesAfter with onnxStoredBytes
 * (src/core/formats/onnx/emit-weight.ts), the bytes the ONNX writer stores.
 */
export function reprBytes(r: Compressed, target: Target = 'iOS18'): number {
  switch (r.kind) {
    case 'dense':
      return numel(r.shape) * dtBytes(r.dtype);
    case 'lut':
      return lutBytes(r, r.indices.length);
    case 'affine':
      return affineBytes(r, r.data.length, target);
    case 'sparse': {
      // counts without touching mask / values (a compact fp16 SparseRepr builds those on first read)
      const n = numel(r.shape);
      let b = packed(n, 1);
      if (!r.inner) b += nonzeroCount(r) * dtBytes(r.dtype);
      else if (r.inner.kind === 'lut') b += lutBytes(r.inner, r.inner.indices.length);
      // coremltools' prune → quantize chain stores the mask twice: data_mask of
      // constexpr_sparse_blockwise_shift_scale and mask of the constexpr_sparse_to_dense that follows
      else b += affineBytes(r.inner, r.inner.data.length, target) + packed(n, 1);
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
      const end = s + len;
      for (let a = s; a < end; a += CHUNK) lutDecodedPiece(lut, g * K, r.indices, a, end - a > CHUNK ? a + CHUNK : end, fn);
    });
    return;
  }
  if (r.kind === 'sparse' && !r.inner) {
    const m = r.mask;
    const v = r.values;
    for (let a = 0, j = 0; a < m.length; a += CHUNK) j = sparseDecodedPiece(m, v, a, m.length - a > CHUNK ? a + CHUNK : m.length, j, fn);
    return;
  }
  const d = decompress(r);
  for (let a = 0; a < d.length; a += CHUNK) denseDecodedPiece(d, a, d.length - a > CHUNK ? a + CHUNK : d.length, fn);
}

// The per-element loops run over a run (a whole tensor when per-tensor) in pieces of CHUNK elements, one call
// of a small loop function per piece (pieces.ts); sums and positions carry across pieces in element order.

function lutDecodedPiece(lut: Float32Array, base: number, idx: Uint8Array, a: number, e: number, fn: (i: number, v: number) => void): void {
  for (let i = a; i < e; i++) fn(i, lut[base + idx[i]]);
}

function sparseDecodedPiece(m: Uint8Array, v: Float32Array, a: number, e: number, j: number, fn: (i: number, v: number) => void): number {
  for (let i = a; i < e; i++) fn(i, m[i] ? v[j++] : 0);
  return j;
}

function denseDecodedPiece(d: Float32Array, a: number, e: number, fn: (i: number, v: number) => void): void {
  for (let i = a; i < e; i++) fn(i, d[i]);
}

interface Acc {
  se: number;
  sig: number;
  mx: number;
  zeros: number;
}

/** Error accumulation over a run [s, s+len) whose decoded value is table[code[i]]. */
function accTable(
  acc: Acc,
  bits: Uint16Array | null,
  fl: Float32Array | null,
  codes: ArrayLike<number>,
  table: Float64Array,
  mask: number,
  s: number,
  len: number,
): void {
  const end = s + len;
  for (let a = s; a < end; a += CHUNK) accTablePiece(acc, bits, fl, codes, table, mask, a, end - a > CHUNK ? a + CHUNK : end);
}

function accTablePiece(
  acc: Acc,
  bits: Uint16Array | null,
  fl: Float32Array | null,
  codes: ArrayLike<number>,
  table: Float64Array,
  mask: number,
  s: number,
  end: number,
): void {
  let se = acc.se;
  let sig = acc.sig;
  let mx = acc.mx;
  const tab = F16_TABLE;
  if (bits) {
    for (let i = s; i < end; i++) {
      const w = tab[bits[i]];
      const e = w - table[codes[i] & mask];
      se += e * e;
      sig += w * w;
      const a = Math.abs(e);
      if (a > mx) mx = a;
    }
  } else {
    for (let i = s; i < end; i++) {
      const w = fl![i];
      const e = w - table[codes[i] & mask];
      se += e * e;
      sig += w * w;
      const a = Math.abs(e);
      if (a > mx) mx = a;
    }
  }
  acc.se = se;
  acc.sig = sig;
  acc.mx = mx;
}

function accCodes(
  acc: Acc,
  bits: Uint16Array | null,
  fl: Float32Array | null,
  codes: Int8Array | Uint8Array,
  table: Float64Array,
  cnt: Float64Array,
  s: number,
  len: number,
): void {
  const end = s + len;
  for (let a = s; a < end; a += CHUNK) accCodesPiece(acc, bits, fl, codes, table, cnt, a, end - a > CHUNK ? a + CHUNK : end);
}

function accCodesPiece(
  acc: Acc,
  bits: Uint16Array | null,
  fl: Float32Array | null,
  codes: Int8Array | Uint8Array,
  table: Float64Array,
  cnt: Float64Array,
  s: number,
  end: number,
): void {
  let se = acc.se;
  let sig = acc.sig;
  let mx = acc.mx;
  const tab = F16_TABLE;
  for (let i = s; i < end; i++) {
    const w = bits ? tab[bits[i]] : fl![i];
    const c = codes[i] & 0xff;
    cnt[c]++;
    const e = w - table[c];
    se += e * e;
    sig += w * w;
    const a = Math.abs(e);
    if (a > mx) mx = a;
  }
  acc.se = se;
  acc.sig = sig;
  acc.mx = mx;
}

function finish(dense: DenseTensor, repr: Compressed, target: Target, acc: Acc, distinct: number): Metrics {
  const n = numel(dense.shape);
  const bytesAfter = reprBytes(repr, target);
  return {
    bytesBefore: n * dtBytes(dense.dtype),
    bytesAfter,
    mse: n ? acc.se / n : 0,
    snrDb: acc.se === 0 ? Infinity : acc.sig === 0 ? -Infinity : 10 * Math.log10(acc.sig / acc.se),
    maxAbsErr: acc.mx,
    sparsity: n ? acc.zeros / n : 0,
    distinct,
    bitsPerWeight: n ? (bytesAfter * 8) / n : 0,
  };
}

function countDistinct(values: Iterable<number>): number {
  const s = new Set<number>();
  for (const v of values) s.add(v === 0 ? 0 : v);
  return s.size;
}

export function computeMetrics(dense: DenseTensor, repr: Compressed, target: Target = 'iOS18'): Metrics {
  const hint = getHint(repr, dense);
  if (hint) return finish(dense, repr, target, { se: hint.se, sig: hint.sig, mx: hint.mx, zeros: hint.zeros }, hint.distinct);
  const bits = dense.dtype === 'fp16' ? (dense.data as Uint16Array) : null;
  const fl = bits ? null : (dense.data as Float32Array);
  const acc: Acc = { se: 0, sig: 0, mx: 0, zeros: 0 };
  // scalar per-tensor LUT over fp16: every element with the same bits has the same index → a histogram
  if (
    bits &&
    repr.kind === 'lut' &&
    repr.lut.length === repr.lutShape[repr.shape.length] &&
    repr.lutShape[repr.lutShape.length - 1] === 1 &&
    !repr.perChannelScale &&
    repr.indices.length === bits.length
  ) {
    const lut = effectiveLut(repr);
    const cnt = new Uint32Array(65536);
    const first = new Uint8Array(65536);
    const idx = repr.indices;
    let consistent = true;
    for (let a = 0; a < bits.length; a += CHUNK) {
      if (!firstIndexPiece(bits, idx, a, bits.length - a > CHUNK ? a + CHUNK : bits.length, cnt, first)) consistent = false;
    }
    if (consistent) {
      const tab = F16_TABLE;
      const usedK = new Float64Array(lut.length);
      for (let h = 0; h < 65536; h++) {
        const c = cnt[h];
        if (!c) continue;
        const w = tab[h];
        const e = w - lut[first[h]];
        acc.se += c * e * e;
        acc.sig += c * w * w;
        if (Math.abs(e) > acc.mx) acc.mx = Math.abs(e);
        usedK[first[h]] += c;
      }
      const used: number[] = [];
      for (let k = 0; k < lut.length; k++) if (usedK[k] > 0) {
        used.push(lut[k]);
        if (lut[k] === 0) acc.zeros += usedK[k];
      }
      return finish(dense, repr, target, acc, countDistinct(used));
    }
    acc.se = acc.sig = acc.mx = acc.zeros = 0;
  }
  // scalar LUT: decoded value = lut[group, index]
  if (repr.kind === 'lut' && repr.lutShape[repr.lutShape.length - 1] === 1 && !repr.perChannelScale) {
    const lut = effectiveLut(repr);
    const K = repr.lutShape[repr.shape.length];
    const counts = new Float64Array(lut.length);
    forEachRun(repr.indicesShape, repr.lutShape.slice(0, repr.shape.length), (s, len, g) => {
      const table = Float64Array.from(lut.subarray(g * K, g * K + K));
      accTable(acc, bits, fl, repr.indices, table, 0xff, s, len);
      const end = s + len;
      for (let a = s; a < end; a += CHUNK) countPiece(repr.indices, g * K, a, end - a > CHUNK ? a + CHUNK : end, counts);
    });
    const used: number[] = [];
    for (let k = 0; k < lut.length; k++) if (counts[k] > 0) {
      used.push(lut[k]);
      if (lut[k] === 0) acc.zeros += counts[k];
    }
    return finish(dense, repr, target, acc, countDistinct(used));
  }
  // affine: decoded value = table[block][code]; one pass counting codes per block
  if (repr.kind === 'affine') {
    const dt = repr.dtype;
    const vals = new Set<number>();
    const cnt = new Float64Array(256);
    const signedCodes = repr.data instanceof Int8Array;
    forEachRun(repr.shape, repr.scaleShape, (s, len, b) => {
      const table = new Float64Array(256);
      const off = repr.offset ? repr.offset[b] : 0;
      for (let c = 0; c < 256; c++) {
        const q = signedCodes ? (c << 24) >> 24 : c;
        table[c] = rdtLocal(dt, rdtLocal(dt, q - off) * repr.scale[b]);
      }
      cnt.fill(0);
      accCodes(acc, bits, fl, repr.data, table, cnt, s, len);
      for (let c = 0; c < 256; c++) if (cnt[c] > 0) {
        vals.add(table[c] === 0 ? 0 : table[c]);
        if (table[c] === 0) acc.zeros += cnt[c];
      }
    });
    return finish(dense, repr, target, acc, vals.size);
  }
  // plain sparse: nonzeros as stored
  if (repr.kind === 'sparse' && !repr.inner) {
    const m = repr.mask;
    const v = repr.values;
    const tab = F16_TABLE;
    for (let a = 0, j = 0; a < m.length; a += CHUNK) j = sparseErrPiece(acc, bits, fl, m, v, a, m.length - a > CHUNK ? a + CHUNK : m.length, j);
    acc.zeros = m.length - v.length;
    let distinct = acc.zeros > 0 ? 1 : 0;
    if (bits && repr.dtype === 'fp16') {
      // the nonzeros are the original values: count distinct kept bit patterns
      const seen = new Uint8Array(65536);
      for (let a = 0; a < m.length; a += CHUNK) seenKeptPiece(bits, m, a, m.length - a > CHUNK ? a + CHUNK : m.length, seen);
      for (let h = 0; h < 65536; h++) distinct += seen[h];
    } else if (repr.dtype === 'fp16') {
      const seen = new Uint8Array(65536);
      for (let a = 0; a < v.length; a += CHUNK) seenValuesPiece(v, a, v.length - a > CHUNK ? a + CHUNK : v.length, seen);
      for (let h = 0; h < 65536; h++) distinct += seen[h];
    } else {
      const s = Float32Array.from(v).sort();
      for (let k = 0; k < s.length; k++) if (k === 0 || s[k] !== s[k - 1]) distinct++;
    }
    return finish(dense, repr, target, acc, distinct);
  }
  // general: materialise
  const d = decompress(repr);
  for (let a = 0; a < d.length; a += CHUNK) denseErrPiece(acc, bits, fl, d, a, d.length - a > CHUNK ? a + CHUNK : d.length);
  let distinct = 0;
  if (repr.dtype === 'fp16') {
    const seen = new Uint8Array(65536);
    for (let a = 0; a < d.length; a += CHUNK) seenF16Piece(d, a, d.length - a > CHUNK ? a + CHUNK : d.length, seen);
    for (let h = 0; h < 65536; h++) distinct += seen[h];
  } else {
    const s = Float32Array.from(d).sort();
    for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) distinct++;
  }
  return finish(dense, repr, target, acc, distinct);
}

/** cnt[h]++ and first[h] = the index of the first element with pattern h; false if a later one differs. */
function firstIndexPiece(bits: Uint16Array, idx: Uint8Array, a: number, e: number, cnt: Uint32Array, first: Uint8Array): boolean {
  let consistent = true;
  for (let i = a; i < e; i++) {
    const h = bits[i];
    if (cnt[h]++ === 0) first[h] = idx[i];
    else if (first[h] !== idx[i]) consistent = false;
  }
  return consistent;
}

function countPiece(idx: Uint8Array, base: number, a: number, e: number, counts: Float64Array): void {
  for (let i = a; i < e; i++) counts[base + idx[i]]++;
}

/** Errors of a plain sparse repr over [a, e), j the nonzero index at a; returns the next j. */
function sparseErrPiece(acc: Acc, bits: Uint16Array | null, fl: Float32Array | null, m: Uint8Array, v: Float32Array, a: number, e: number, j: number): number {
  const tab = F16_TABLE;
  let se = acc.se;
  let sig = acc.sig;
  let mx = acc.mx;
  for (let i = a; i < e; i++) {
    const w = bits ? tab[bits[i]] : fl![i];
    const d = m[i] ? w - v[j++] : w;
    se += d * d;
    sig += w * w;
    const x = Math.abs(d);
    if (x > mx) mx = x;
  }
  acc.se = se;
  acc.sig = sig;
  acc.mx = mx;
  return j;
}

function seenKeptPiece(bits: Uint16Array, m: Uint8Array, a: number, e: number, seen: Uint8Array): void {
  for (let i = a; i < e; i++) seen[bits[i]] |= m[i];
}

function seenValuesPiece(v: Float32Array, a: number, e: number, seen: Uint8Array): void {
  for (let i = a; i < e; i++) seen[f32ToF16(v[i])] = 1;
}

/** seen[fp16 pattern of v[i]] = 1, with -0 counted as 0. */
function seenF16Piece(v: Float32Array, a: number, e: number, seen: Uint8Array): void {
  for (let i = a; i < e; i++) seen[v[i] === 0 ? 0 : f32ToF16(v[i])] = 1;
}

function denseErrPiece(acc: Acc, bits: Uint16Array | null, fl: Float32Array | null, d: Float32Array, a: number, e: number): void {
  const tab = F16_TABLE;
  for (let i = a; i < e; i++) {
    const w = bits ? tab[bits[i]] : fl![i];
    const x = w - d[i];
    acc.se += x * x;
    acc.sig += w * w;
    const ax = Math.abs(x);
    if (ax > acc.mx) acc.mx = ax;
    if (d[i] === 0) acc.zeros++;
  }
}

function rdtLocal(dt: FloatDtype, x: number): number {
  return dt === 'fp16' ? F16_TABLE[f32ToF16(x)] : Math.fround(x);
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
