/**
 * The two passes of unstructured magnitude pruning over fp16 bit patterns: a 65,536-bin histogram of the
 * patterns, then (threshold known) the keep mask and the gather of the kept values. Both read the weights as
 * 32-bit pairs when the array is 4-byte aligned (the common case) and fall back to a plain loop otherwise;
 * both paths give the same result.
 */
import { F16_TABLE } from '../../tensor/fp16';
import type { ErrStats } from '../hints';

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
