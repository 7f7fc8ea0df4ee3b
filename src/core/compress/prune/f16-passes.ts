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

/** cnt[h] = number of elements with bit pattern h. */
export function histogramF16(bits: Uint16Array): Uint32Array {
  const cnt = new Uint32Array(65536);
  const n = bits.length;
  let i = 0;
  if (bits.byteOffset & 2 && n > 0) cnt[bits[i++]]++; // the rest starts 4-byte aligned
  // four elements per step (two 32-bit loads): 20% faster than two
  const quads = (n - i) >> 2;
  const u = new Uint32Array(bits.buffer, bits.byteOffset + 2 * i, 2 * quads);
  for (let k = 0; k < 2 * quads; k += 2) {
    const x = u[k];
    const y = u[k + 1];
    cnt[x & 0xffff]++;
    cnt[x >>> 16]++;
    cnt[y & 0xffff]++;
    cnt[y >>> 16]++;
  }
  for (i += 4 * quads; i < n; i++) cnt[bits[i]]++;
  return cnt;
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
    // eight elements per step: four 32-bit loads, one mask byte (written out: V8 does not unroll a loop over
    // the four words, and the unrolled form is twice as fast)
    const bytes = n >> 3;
    const u = new Uint32Array(bits.buffer, bits.byteOffset, bytes * 4);
    for (let q = 0, k = 0; q < bytes; q++, k += 4) {
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
    i = bytes * 8;
  }
  for (; i < n; i++) {
    const h = bits[i];
    const b = (tb - (h & 0x7fff)) >>> 31;
    maskBits[i >> 3] |= b << (i & 7);
    values16[j] = h;
    j += b;
  }
}

// ---------------------------------------------------------------------------------------------
// Building a SparseRepr from a keep array (n:m, block and fp32 pruning). Branch-free: `+(c)` gives the 0/1
// of a comparison, and the gathers store every element at values[j] and advance j by its keep bit (stores
// after the last kept element land past the end, which typed arrays ignore); a data-dependent branch
// mispredicts on about half the elements.

/** keep[i] &= (w != 0); returns the number kept. */
export function keepNonzeroF16(bits: Uint16Array, keep: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < keep.length; i++) {
    const k = keep[i] & +((bits[i] & 0x7fff) !== 0);
    keep[i] = k;
    d += k;
  }
  return d;
}

export function keepNonzeroF32(fl: Float32Array, keep: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < keep.length; i++) {
    const k = keep[i] & +(fl[i] !== 0);
    keep[i] = k;
    d += k;
  }
  return d;
}

/** values = the kept elements as float32, in order (values.length = the number kept). */
export function gatherKeptF16(bits: Uint16Array, keep: Uint8Array, values: Float32Array): void {
  const tab = F16_TABLE;
  for (let i = 0, j = 0; i < keep.length; i++) {
    values[j] = tab[bits[i]];
    j += keep[i];
  }
}

export function gatherKeptF32(fl: Float32Array, keep: Uint8Array, values: Float32Array): void {
  for (let i = 0, j = 0; i < keep.length; i++) {
    values[j] = fl[i];
    j += keep[i];
  }
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
