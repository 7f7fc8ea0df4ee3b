/**
 * Every representation back to float32, with coremltools' reference arithmetic: scale/offset math in the
 * scale dtype (fp16 math for fp16 weights: (q - offset) cast to fp16, times scale, rounded to fp16),
 * LUT values as stored, per-channel scale applied in the weight dtype.
 */
import type { AffineRepr, Compressed, FloatDtype, LutQuant, LutRepr, NNLinearRepr, SparseRepr } from './types';
import { numel, rdt, splitAxis } from './numeric';
import { forEachRun } from './quantize/quantize';
import { CHUNK } from '../tensor/pieces';

// Every per-element loop runs over a run (a whole tensor when per-tensor) in pieces of CHUNK elements, one call
// of a small loop function per piece (pieces.ts); running positions carry across pieces.

export function decompress(repr: Compressed): Float32Array {
  switch (repr.kind) {
    case 'dense':
      return repr.values;
    case 'lut':
      return lutToDense(repr);
    case 'affine':
      return affineToDense(repr);
    case 'sparse':
      return sparseToDense(repr);
    case 'nnlinear':
      return nnLinearToDense(repr);
  }
}

/** The LUT values as the runtime sees them (dequantized when the LUT is quantized). */
export function effectiveLut(r: LutRepr): Float32Array {
  if (!r.lutQuant) return r.lut;
  return dequantLut(r.lutQuant, r.dtype, r.lut.length);
}

export function dequantLut(q: LutQuant, dtype: FloatDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  const s = q.scale[0];
  const off = q.offset ? q.offset[0] : 0;
  for (let i = 0; i < count; i++) out[i] = rdt(dtype, rdt(dtype, q.data[i] - off) * s);
  return out;
}

/** The group (LUT block) index of every position of the indices shape. */
function groupIndexRuns(r: LutRepr, fn: (start: number, len: number, g: number) => void): void {
  const rank = r.indicesShape.length;
  forEachRun(r.indicesShape, r.lutShape.slice(0, rank), fn);
}

export function lutToDense(r: LutRepr): Float32Array {
  const lut = effectiveLut(r);
  const rank = r.shape.length;
  const K = r.lutShape[rank];
  const V = r.lutShape[rank + 1];
  const out = new Float32Array(numel(r.shape));
  const idx = r.indices;
  if (V === 1) {
    groupIndexRuns(r, (s, len, g) => {
      const end = s + len;
      for (let a = s; a < end; a += CHUNK) lutPiece(lut, g * K, idx, a, end - a > CHUNK ? a + CHUNK : end, out);
    });
  } else {
    const a = r.vectorAxis ?? 0;
    const [, Cv, inner] = splitAxis(r.indicesShape, a);
    const C = Cv * V;
    groupIndexRuns(r, (s, len, g) => {
      const end = s + len;
      for (let a = s; a < end; a += CHUNK) vectorLutPiece(lut, g * K, V, Cv, inner, idx, a, end - a > CHUNK ? a + CHUNK : end, out);
    });
  }
  if (r.perChannelScale) applyScale(out, r.shape, r.perChannelScale.scale, r.perChannelScale.shape, r.dtype);
  return out;
}

function lutPiece(lut: Float32Array, base: number, idx: Uint8Array, a: number, e: number, out: Float32Array): void {
  for (let i = a; i < e; i++) out[i] = lut[base + idx[i]];
}

function vectorLutPiece(lut: Float32Array, gK: number, V: number, Cv: number, inner: number, idx: Uint8Array, a: number, e: number, out: Float32Array): void {
  const C = Cv * V;
  for (let j = a; j < e; j++) {
    const o = Math.floor(j / (Cv * inner));
    const cv = Math.floor(j / inner) % Cv;
    const rr = j % inner;
    const base = (gK + idx[j]) * V;
    for (let v = 0; v < V; v++) out[(o * C + cv * V + v) * inner + rr] = lut[base + v];
  }
}

/** out *= scale (broadcast block-wise), rounded to dtype. */
function applyScale(out: Float32Array, shape: number[], scale: Float32Array, sshape: number[], dtype: FloatDtype): void {
  forEachRun(shape, sshape, (s, len, b) => {
    const end = s + len;
    for (let a = s; a < end; a += CHUNK) scalePiece(out, scale[b], dtype, a, end - a > CHUNK ? a + CHUNK : end);
  });
}

function scalePiece(out: Float32Array, sc: number, dtype: FloatDtype, a: number, e: number): void {
  for (let i = a; i < e; i++) out[i] = rdt(dtype, out[i] * sc);
}

export function affineToDense(r: AffineRepr): Float32Array {
  const out = new Float32Array(numel(r.shape));
  const dt = r.dtype;
  forEachRun(r.shape, r.scaleShape, (s, len, b) => {
    const sc = r.scale[b];
    const off = r.offset ? r.offset[b] : 0;
    const end = s + len;
    for (let a = s; a < end; a += CHUNK) affinePiece(r.data, off, sc, dt, a, end - a > CHUNK ? a + CHUNK : end, out);
  });
  return out;
}

function affinePiece(data: Int8Array | Uint8Array, off: number, sc: number, dt: FloatDtype, a: number, e: number, out: Float32Array): void {
  for (let i = a; i < e; i++) out[i] = rdt(dt, rdt(dt, data[i] - off) * sc);
}

/** Decompressed nonzeros of a joint inner representation (codes are per nonzero, blocks by dense position). */
export function innerNonzeros(sp: SparseRepr): Float32Array {
  const inner = sp.inner;
  if (!inner) return sp.values;
  const D = inner.kind === 'lut' ? inner.indices.length : inner.data.length;
  const out = new Float32Array(D);
  const mask = sp.mask;
  let j = 0;
  if (inner.kind === 'affine') {
    const dt = inner.dtype;
    forEachRun(sp.shape, inner.scaleShape, (s, len, b) => {
      const sc = inner.scale[b];
      const off = inner.offset ? inner.offset[b] : 0;
      const end = s + len;
      for (let a = s; a < end; a += CHUNK) j = maskedAffinePiece(mask, inner.data, off, sc, dt, a, end - a > CHUNK ? a + CHUNK : end, j, out);
    });
  } else {
    const lut = effectiveLut(inner);
    const rank = sp.shape.length;
    const K = inner.lutShape[rank];
    forEachRun(sp.shape, inner.lutShape.slice(0, rank), (s, len, g) => {
      const end = s + len;
      for (let a = s; a < end; a += CHUNK) j = maskedLutPiece(mask, inner.indices, lut, g * K, a, end - a > CHUNK ? a + CHUNK : end, j, out);
    });
    if (inner.perChannelScale) {
      const { scale, shape: ss } = inner.perChannelScale;
      let k = 0;
      forEachRun(sp.shape, ss, (s, len, b) => {
        const end = s + len;
        for (let a = s; a < end; a += CHUNK) k = maskedScalePiece(mask, scale[b], inner.dtype, a, end - a > CHUNK ? a + CHUNK : end, k, out);
      });
    }
  }
  return out;
}

/** Pieces of innerNonzeros: dense positions [a, e), j the nonzero index at a; each returns the next j. */
function maskedAffinePiece(mask: Uint8Array, data: Int8Array | Uint8Array, off: number, sc: number, dt: FloatDtype, a: number, e: number, j: number, out: Float32Array): number {
  for (let i = a; i < e; i++) if (mask[i]) {
    out[j] = rdt(dt, rdt(dt, data[j] - off) * sc);
    j++;
  }
  return j;
}

function maskedLutPiece(mask: Uint8Array, indices: Uint8Array, lut: Float32Array, base: number, a: number, e: number, j: number, out: Float32Array): number {
  for (let i = a; i < e; i++) if (mask[i]) {
    out[j] = lut[base + indices[j]];
    j++;
  }
  return j;
}

function maskedScalePiece(mask: Uint8Array, sc: number, dt: FloatDtype, a: number, e: number, k: number, out: Float32Array): number {
  for (let i = a; i < e; i++) if (mask[i]) {
    out[k] = rdt(dt, out[k] * sc);
    k++;
  }
  return k;
}

export function sparseToDense(sp: SparseRepr): Float32Array {
  const vals = sp.inner ? innerNonzeros(sp) : sp.values;
  const mask = sp.mask;
  const n = mask.length;
  const out = new Float32Array(n);
  for (let a = 0, j = 0; a < n; a += CHUNK) j = scatterPiece(mask, vals, a, n - a > CHUNK ? a + CHUNK : n, j, out);
  return out;
}

function scatterPiece(mask: Uint8Array, vals: Float32Array, a: number, e: number, j: number, out: Float32Array): number {
  for (let i = a; i < e; i++) if (mask[i]) out[i] = vals[j++];
  return j;
}

export function nnLinearToDense(r: NNLinearRepr): Float32Array {
  const [outer, C, inner] = splitAxis(r.shape, r.axis);
  const out = new Float32Array(numel(r.shape));
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < C; c++) {
      const s = r.scale.length === 1 ? r.scale[0] : r.scale[c];
      const b = r.bias.length === 1 ? r.bias[0] : r.bias[c];
      const base = (o * C + c) * inner;
      for (let k = 0; k < inner; k++) out[base + k] = Math.fround(r.data[base + k] * s + b);
    }
  return out;
}
