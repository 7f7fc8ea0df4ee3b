/** IEEE binary16 conversions: round-half-to-even, as numpy's astype(float16) and MILBlob do. */
import { CHUNK } from './pieces';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 (or double, first rounded to float32) → fp16 bit pattern. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** Table of all 65,536 fp16 values as float32. */
export const F16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 0x1f) t[h] = m ? NaN : s * Infinity;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

export function f16ToF32(h: number): number {
  return F16_TABLE[h & 0xffff];
}

/** Round a number to the nearest fp16 value (returned as a JS number). */
export function roundF16(v: number): number {
  return F16_TABLE[f32ToF16(v)];
}

export function f16ArrayToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const n = bits.length;
  for (let s = 0; s < n; s += CHUNK) f16ToF32Run(bits, s, n - s > CHUNK ? s + CHUNK : n, out);
  return out;
}

function f16ToF32Run(bits: Uint16Array, a: number, b: number, out: Float32Array): void {
  const t = F16_TABLE;
  for (let i = a; i < b; i++) out[i] = t[bits[i]];
}

/** In pieces of CHUNK elements, one call each (pieces.ts). */
export function f32ArrayToF16(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  const n = values.length;
  if (values instanceof Float32Array) {
    const u = new Uint32Array(values.buffer, values.byteOffset, n);
    for (let s = 0; s < n; s += CHUNK) f32ToF16Run(values, u, s, n - s > CHUNK ? s + CHUNK : n, out);
    return out;
  }
  for (let s = 0; s < n; s += CHUNK) numToF16Run(values, s, n - s > CHUNK ? s + CHUNK : n, out);
  return out;
}

/**
 * Fast path for floats that are fp16 normals already (exact: low 13 mantissa bits 0, float32 biased exponent
 * 113..142, i.e. fp16's 1..30): the fp16 pattern is sign | (bits 13..30 minus the exponent rebias 112 << 10).
 * One predictable branch per value; anything else (zero, subnormal, inexact, out of range) goes through f32ToF16.
 */
function f32ToF16Run(values: Float32Array, u: Uint32Array, a: number, b: number, out: Uint16Array): void {
  for (let i = a; i < b; i++) {
    const x = u[i];
    const e = ((x >>> 23) & 0xff) - 113;
    if ((x & 0x1fff) !== 0 || e >>> 0 > 29) out[i] = f32ToF16(values[i]);
    else out[i] = ((x >>> 16) & 0x8000) | (((x >>> 13) & 0x3ffff) - 0x1c000);
  }
}

function numToF16Run(values: ArrayLike<number>, a: number, b: number, out: Uint16Array): void {
  for (let i = a; i < b; i++) out[i] = f32ToF16(values[i]);
}

/** A Uint16Array view of little-endian fp16 bytes; copies only when the bytes are not 2-aligned. */
export function f16View(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
  return new Uint16Array(bytes.slice().buffer, 0, bytes.byteLength >> 1);
}

/** A Float32Array view of little-endian fp32 bytes; copies only when the bytes are not 4-aligned. */
export function f32View(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  return new Float32Array(bytes.slice().buffer, 0, bytes.byteLength >> 2);
}
