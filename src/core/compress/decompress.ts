/**
 * Every representation back to float32, with coremltools' reference arithmetic: scale/offset math in the
 * scale dtype (fp16 math for fp16 weights: (q - offset) cast to fp16, times scale, rounded to fp16),
 * LUT values as stored, per-channel scale applied in the weight dtype.
 */
import type { AffineRepr, Compressed, FloatDtype, LutQuant, LutRepr, NNLinearRepr, SparseRepr } from './types';
import { numel, rdt, splitAxis } from './numeric';
import { forEachRun } from './quantize/quantize';

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
      const base = g * K;
      for (let i = s; i < s + len; i++) out[i] = lut[base + idx[i]];
    });
  } else {
    const a = r.vectorAxis ?? 0;
    const [, Cv, inner] = splitAxis(r.indicesShape, a);
    const C = Cv * V;
    groupIndexRuns(r, (s, len, g) => {
      for (let j = s; j < s + len; j++) {
        const o = Math.floor(j / (Cv * inner));
        const cv = Math.floor(j / inner) % Cv;
        const rr = j % inner;
        const base = (g * K + idx[j]) * V;
        for (let v = 0; v < V; v++) out[(o * C + cv * V + v) * inner + rr] = lut[base + v];
      }
    });
  }
  if (r.perChannelScale) applyScale(out, r.shape, r.perChannelScale.scale, r.perChannelScale.shape, r.dtype);
  return out;
}

/** out *= scale (broadcast block-wise), rounded to dtype. */
function applyScale(out: Float32Array, shape: number[], scale: Float32Array, sshape: number[], dtype: FloatDtype): void {
  forEachRunGeneral(shape, sshape, (i, b) => {
    out[i] = rdt(dtype, out[i] * scale[b]);
  });
}

/** Per element (index, block index) for a block grid where grid[d] divides shape[d]. */
function forEachRunGeneral(shape: number[], grid: number[], fn: (i: number, block: number) => void): void {
  forEachRun(shape, grid, (s, len, b) => {
    for (let i = s; i < s + len; i++) fn(i, b);
  });
}

export function affineToDense(r: AffineRepr): Float32Array {
  const out = new Float32Array(numel(r.shape));
  const dt = r.dtype;
  forEachRun(r.shape, r.scaleShape, (s, len, b) => {
    const sc = r.scale[b];
    const off = r.offset ? r.offset[b] : 0;
    for (let i = s; i < s + len; i++) out[i] = rdt(dt, rdt(dt, r.data[i] - off) * sc);
  });
  return out;
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
      for (let i = s; i < s + len; i++) if (mask[i]) {
        out[j] = rdt(dt, rdt(dt, inner.data[j] - off) * sc);
        j++;
      }
    });
  } else {
    const lut = effectiveLut(inner);
    const rank = sp.shape.length;
    const K = inner.lutShape[rank];
    forEachRun(sp.shape, inner.lutShape.slice(0, rank), (s, len, g) => {
      for (let i = s; i < s + len; i++) if (mask[i]) {
        out[j] = lut[g * K + inner.indices[j]];
        j++;
      }
    });
    if (inner.perChannelScale) {
      const { scale, shape: ss } = inner.perChannelScale;
      let k = 0;
      forEachRun(sp.shape, ss, (s, len, b) => {
        for (let i = s; i < s + len; i++) if (mask[i]) {
          out[k] = rdt(inner.dtype, out[k] * scale[b]);
          k++;
        }
      });
    }
  }
  return out;
}

export function sparseToDense(sp: SparseRepr): Float32Array {
  const vals = sp.inner ? innerNonzeros(sp) : sp.values;
  const out = new Float32Array(sp.mask.length);
  let j = 0;
  for (let i = 0; i < sp.mask.length; i++) if (sp.mask[i]) out[i] = vals[j++];
  return out;
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
