/**
 * The loops of the pruning kernels, each in a small function of its own (a loop inside a big function gets
 * that function compiled on stack replacement mid-loop, and the code deoptimizes after the loop on every call).
 * - fp16 unstructured (magnitude and threshold): a 65,536-bin histogram of the bit patterns, the threshold,
 *   counts and error statistics from it, then one pass for the packed mask and the gather of the kept
 *   patterns. Both passes read the weights as 32-bit words when the array is 4-byte aligned (the common
 *   case) and fall back to a plain loop otherwise, with the same result.
 * - a SparseRepr from a keep array (n:m, block, fp32), branch-free;
 * - r16Sum, the fp16 rounding of the block-norm sums.
 */
import { F16_TABLE } from '../../tensor/fp16';
import type { ErrStats } from '../hints';
import { r16 } from '../numeric';
import { CHUNK } from '../../tensor/pieces';

/** cnt[h] = number of elements with bit pattern h (in pieces of CHUNK elements, one call each: pieces.ts). */
export function histogramF16(bits: Uint16Array): Uint32Array {
  const cnt = new Uint32Array(65536);
  const n = bits.length;
  let i = 0;
  if (bits.byteOffset & 2 && n > 0) cnt[bits[i++]]++; // the rest starts 4-byte aligned
  const quads = (n - i) >> 2;
  const u = new Uint32Array(bits.buffer, bits.byteOffset + 2 * i, 2 * quads);
  const P = CHUNK >> 1; // words per piece
  for (let s = 0; s < 2 * quads; s += P) histogramWords(u, s, 2 * quads - s > P ? s + P : 2 * quads, cnt);
  for (i += 4 * quads; i < n; i++) cnt[bits[i]]++;
  return cnt;
}

/** Four elements per step (two 32-bit loads of words [a, b), b - a even): 20% faster than two. */
function histogramWords(u: Uint32Array, a: number, b: number, cnt: Uint32Array): void {
  for (let k = a; k < b; k += 2) {
    const x = u[k];
    const y = u[k + 1];
    cnt[x & 0xffff]++;
    cnt[x >>> 16]++;
    cnt[y & 0xffff]++;
    cnt[y >>> 16]++;
  }
}

/** The magnitude pattern (0..0x7fff) of the k-th smallest |w| (k from 0), from the pattern histogram. */
export function kthMagnitude(cnt: Uint32Array, k: number): number {
  let acc = 0;
  for (let m = 0; m < 0x8000; m++) {
    acc += cnt[m] + cnt[m | 0x8000];
    if (acc > k) return m;
  }
  return 0x7fff;
}

/** The number of elements with magnitude pattern > tb. */
export function countAbove(cnt: Uint32Array, tb: number): number {
  let d = 0;
  for (let h = 0; h < 65536; h++) if ((h & 0x7fff) > tb) d += cnt[h];
  return d;
}

/** Error statistics of zeroing every |w| pattern <= tb (hints.ts), from the pattern histogram. */
export function histogramStats(cnt: Uint32Array, tb: number): ErrStats {
  const tab = F16_TABLE;
  const st: ErrStats = { se: 0, sig: 0, mx: 0, zeros: 0, distinct: 0 };
  for (let h = 0; h < 65536; h++) {
    const c = cnt[h];
    if (!c) continue;
    const w = tab[h];
    st.sig += c * w * w;
    if ((h & 0x7fff) <= tb) {
      st.se += c * w * w;
      st.zeros += c;
      if (Math.abs(w) > st.mx) st.mx = Math.abs(w);
    } else st.distinct++;
  }
  if (st.zeros > 0) st.distinct++;
  return st;
}

/**
 * Bit i of maskBits (LSB-first) = (bits[i] & 0x7fff) > tb, and values16 = the kept patterns in order.
 * `maskBits` must be zeroed and hold ceil(n / 8) bytes; `values16` must have exactly as many elements as are
 * kept (the caller knows the count from the histogram).
 *
 * Branch-free: every element is stored at values16[j] and j advances by its keep bit; after the last kept
 * element the stores land at index values16.length, past the end, which typed arrays ignore by definition.
 * (`c ? 1 : 0` would compile to a branch that mispredicts on half the elements at 50% sparsity.)
 */
export function gatherAboveF16(bits: Uint16Array, tb: number, maskBits: Uint8Array, values16: Uint16Array): void {
  const n = bits.length;
  let i = 0;
  let j = 0;
  if ((bits.byteOffset & 3) === 0) {
    const bytes = n >> 3;
    const u = new Uint32Array(bits.buffer, bits.byteOffset, bytes * 4);
    const P = CHUNK >> 3; // mask bytes per piece
    for (let s = 0; s < bytes; s += P) j = gatherAboveBytes(u, s, bytes - s > P ? s + P : bytes, tb, maskBits, values16, j);
    i = bytes * 8;
  }
  for (let s = i; s < n; s += CHUNK) j = gatherAboveRun(bits, s, n - s > CHUNK ? s + CHUNK : n, tb, maskBits, values16, j);
}

/**
 * Mask bytes q in [a, e), eight elements per step: four 32-bit loads, one mask byte (written out: V8 does
 * not unroll a loop over the four words, and the unrolled form is twice as fast). Returns the next j.
 */
function gatherAboveBytes(u: Uint32Array, a: number, e: number, tb: number, maskBits: Uint8Array, values16: Uint16Array, j: number): number {
  for (let q = a, k = 4 * a; q < e; q++, k += 4) {
    let x = u[k];
    let h = x & 0xffff;
    let b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    let m = b;
    h = x >>> 16;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 1;
    x = u[k + 1];
    h = x & 0xffff;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 2;
    h = x >>> 16;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 3;
    x = u[k + 2];
    h = x & 0xffff;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 4;
    h = x >>> 16;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 5;
    x = u[k + 3];
    h = x & 0xffff;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 6;
    h = x >>> 16;
    b = (tb - (h & 0x7fff)) >>> 31;
    values16[j] = h;
    j += b;
    m |= b << 7;
    maskBits[q] = m;
  }
  return j;
}

/** Elements [a, b) one by one (an unaligned array, or the tail). Returns the next j. */
function gatherAboveRun(bits: Uint16Array, a: number, b: number, tb: number, maskBits: Uint8Array, values16: Uint16Array, j: number): number {
  for (let i = a; i < b; i++) {
    const h = bits[i];
    const c = (tb - (h & 0x7fff)) >>> 31;
    maskBits[i >> 3] |= c << (i & 7);
    values16[j] = h;
    j += c;
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// Building a SparseRepr from a keep array (n:m, block and fp32 pruning). Branch-free: `+(c)` gives the 0/1
// of a comparison, and the gathers store every element at values[j] and advance j by its keep bit (stores
// after the last kept element land past the end, which typed arrays ignore); a data-dependent branch
// mispredicts on about half the elements.

/** keep[i] &= (w != 0); returns the number kept. In pieces of CHUNK elements, one call each (pieces.ts). */
export function keepNonzeroF16(bits: Uint16Array, keep: Uint8Array): number {
  const n = keep.length;
  let d = 0;
  for (let s = 0; s < n; s += CHUNK) d += keepNonzeroF16Run(bits, keep, s, n - s > CHUNK ? s + CHUNK : n);
  return d;
}

function keepNonzeroF16Run(bits: Uint16Array, keep: Uint8Array, a: number, b: number): number {
  let d = 0;
  for (let i = a; i < b; i++) {
    const k = keep[i] & +((bits[i] & 0x7fff) !== 0);
    keep[i] = k;
    d += k;
  }
  return d;
}

export function keepNonzeroF32(fl: Float32Array, keep: Uint8Array): number {
  const n = keep.length;
  let d = 0;
  for (let s = 0; s < n; s += CHUNK) d += keepNonzeroF32Run(fl, keep, s, n - s > CHUNK ? s + CHUNK : n);
  return d;
}

function keepNonzeroF32Run(fl: Float32Array, keep: Uint8Array, a: number, b: number): number {
  let d = 0;
  for (let i = a; i < b; i++) {
    const k = keep[i] & +(fl[i] !== 0);
    keep[i] = k;
    d += k;
  }
  return d;
}

/** values = the kept elements as float32, in order (values.length = the number kept). */
export function gatherKeptF16(bits: Uint16Array, keep: Uint8Array, values: Float32Array): void {
  const n = keep.length;
  for (let s = 0, j = 0; s < n; s += CHUNK) j = gatherKeptF16Run(bits, keep, values, s, n - s > CHUNK ? s + CHUNK : n, j);
}

function gatherKeptF16Run(bits: Uint16Array, keep: Uint8Array, values: Float32Array, a: number, b: number, j: number): number {
  const tab = F16_TABLE;
  for (let i = a; i < b; i++) {
    values[j] = tab[bits[i]];
    j += keep[i];
  }
  return j;
}

export function gatherKeptF32(fl: Float32Array, keep: Uint8Array, values: Float32Array): void {
  const n = keep.length;
  for (let s = 0, j = 0; s < n; s += CHUNK) j = gatherKeptF32Run(fl, keep, values, s, n - s > CHUNK ? s + CHUNK : n, j);
}

function gatherKeptF32Run(fl: Float32Array, keep: Uint8Array, values: Float32Array, a: number, b: number, j: number): number {
  for (let i = a; i < b; i++) {
    values[j] = fl[i];
    j += keep[i];
  }
  return j;
}

// The keep arrays of prune.ts's other unstructured paths (a loop there would run inside its big function).

/** keep[i] = !(|fl[i]| <= t) (NaN kept); returns the number kept. */
export function keepAboveF32(fl: Float32Array, t: number, keep: Uint8Array): number {
  const n = keep.length;
  let d = 0;
  for (let s = 0; s < n; s += CHUNK) d += keepAboveF32Run(fl, t, keep, s, n - s > CHUNK ? s + CHUNK : n);
  return d;
}

function keepAboveF32Run(fl: Float32Array, t: number, keep: Uint8Array, a: number, b: number): number {
  let d = 0;
  for (let i = a; i < b; i++) {
    const k = +!(Math.abs(fl[i]) <= t);
    keep[i] = k;
    d += k;
  }
  return d;
}

/** keep[i] = (mag16[i] & 0x7fff) > tb, branch-free. */
export function keepAboveF16(mag16: Uint16Array, tb: number, keep: Uint8Array): void {
  const n = keep.length;
  for (let s = 0; s < n; s += CHUNK) keepAboveF16Run(mag16, tb, keep, s, n - s > CHUNK ? s + CHUNK : n);
}

function keepAboveF16Run(mag16: Uint16Array, tb: number, keep: Uint8Array, a: number, b: number): void {
  for (let i = a; i < b; i++) keep[i] = (tb - (mag16[i] & 0x7fff)) >>> 31;
}

/** cnt[m] += number of elements with magnitude pattern m (cnt of 0x8000 bins). */
export function magnitudeHistogramF16(mag16: Uint16Array, n: number, cnt: Uint32Array): void {
  for (let s = 0; s < n; s += CHUNK) magnitudeHistogramRun(mag16, cnt, s, n - s > CHUNK ? s + CHUNK : n);
}

function magnitudeHistogramRun(mag16: Uint16Array, cnt: Uint32Array, a: number, b: number): void {
  for (let i = a; i < b; i++) cnt[mag16[i] & 0x7fff]++;
}

const f1 = new Float32Array(1);
const u1 = new Uint32Array(f1.buffer);

/**
 * r16 (round to float32, then to fp16, half to even) of a non-negative number, with the fp16-normal range
 * done inline: the float32 pattern plus 0xfff plus its bit 13 carries into bit 13 exactly when the 13 bits
 * dropped are above half, or at half with an odd kept bit; a carry out of the mantissa raises the exponent
 * (to inf past 65504), as f32ToF16 does.
 */
export function r16Sum(x: number): number {
  f1[0] = x;
  const b = u1[0];
  if (b >= 0x38800000 && b < 0x47800000) return F16_TABLE[((b + 0xfff + ((b >>> 13) & 1)) >>> 13) - 0x1c000];
  return r16(x);
}
