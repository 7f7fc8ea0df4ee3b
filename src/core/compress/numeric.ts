/**
 * Numeric helpers shared by the kernels: numpy-compatible rounding (round half to even), rounding to the
 * weight dtype (fp16 through float32, as numpy's float16 ufuncs do), and shape arithmetic.
 */
import { F16_TABLE, f32ToF16 } from '../tensor/fp16';
import type { DenseTensor } from '../model/types';
import type { FloatDtype } from './types';

/** numpy.round: round half to even. */
export function rhe(x: number): number {
  const r = Math.round(x); // half up
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** Round to the nearest fp16 value (via float32, like numpy's half arithmetic). */
export function r16(x: number): number {
  return F16_TABLE[f32ToF16(x)];
}

/** Round to the weight dtype: fp16 → r16, fp32 → Math.fround. */
export function rdt(dtype: FloatDtype, x: number): number {
  return dtype === 'fp16' ? F16_TABLE[f32ToF16(x)] : Math.fround(x);
}

export function rounder(dtype: FloatDtype): (x: number) => number {
  return dtype === 'fp16' ? r16 : Math.fround;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Split a shape around `axis` into [outer, dim, inner] (row-major). */
export function splitAxis(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

/** The float values of a dense tensor (a view for fp32, a conversion for fp16). */
export function denseFloats(t: DenseTensor): Float32Array {
  if (t.dtype === 'fp32') return t.data as Float32Array;
  const bits = t.data as Uint16Array;
  const out = new Float32Array(bits.length);
  const tab = F16_TABLE;
  for (let i = 0; i < bits.length; i++) out[i] = tab[bits[i]];
  return out;
}

/** Values as float32, rounded to dtype. */
export function roundArray(dtype: FloatDtype, v: Float32Array): Float32Array {
  if (dtype === 'fp16') for (let i = 0; i < v.length; i++) v[i] = F16_TABLE[f32ToF16(v[i])];
  return v;
}

/** Strides of a row-major shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * For a blocked layout (blockShape[d] = shape[d] / gridShape[d]), the flat index of each element's block in a
 * row-major grid. Returned as Int32Array of length numel(shape).
 */
export function blockIndex(shape: readonly number[], grid: readonly number[]): Int32Array {
  const n = numel(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  const gstr = strides(grid);
  const bs = shape.map((d, i) => d / grid[i]);
  // iterate with an odometer over the last axis fastest
  const idx = new Array<number>(rank).fill(0);
  let g = 0;
  for (let i = 0; i < n; i++) {
    out[i] = g;
    // advance
    for (let d = rank - 1; d >= 0; d--) {
      const old = idx[d];
      idx[d] = old + 1;
      const ob = Math.floor(old / bs[d]);
      if (idx[d] < shape[d]) {
        const nb = Math.floor(idx[d] / bs[d]);
        g += (nb - ob) * gstr[d];
        break;
      }
      g -= ob * gstr[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** fp16 bits of a float64, correctly rounded (half to even) from the double (numpy astype(float16) of float64). */
export function f64ToF16(x: number): number {
  const h = f32ToF16(x);
  if (!Number.isFinite(x)) return h;
  const v = F16_TABLE[h];
  if (v === x || !Number.isFinite(v)) return h;
  // double → f32 → f16 can be one ulp off; compare with the neighbour on the side of x
  const towardUp = x > v;
  const neg = (h & 0x8000) !== 0;
  const n = (towardUp !== neg ? h + 1 : h - 1) & 0xffff;
  // neighbours across zero: handle 0x0000/0x8000
  let nb = n;
  if ((h & 0x7fff) === 0) nb = towardUp ? 0x0001 : 0x8001;
  const w = F16_TABLE[nb];
  if (!Number.isFinite(w)) return h;
  const dv = Math.abs(x - v);
  const dw = Math.abs(x - w);
  if (dw < dv) return nb;
  if (dw === dv && (nb & 1) === 0) return nb;
  return h;
}

/** Round a float64 to the nearest fp16 value (correctly rounded from the double). */
export function r16d(x: number): number {
  return F16_TABLE[f64ToF16(x)];
}

/** Round a float64 to the weight dtype (numpy astype from float64). */
export function rdtd(dtype: FloatDtype, x: number): number {
  return dtype === 'fp16' ? F16_TABLE[f64ToF16(x)] : Math.fround(x);
}
