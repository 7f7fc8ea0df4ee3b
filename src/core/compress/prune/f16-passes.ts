/**
 * The two passes of unstructured magnitude pruning over fp16 bit patterns: a 65,536-bin histogram of the
 * patterns, then (threshold known) the keep mask and the gather of the kept values. Both read the weights as
 * 32-bit pairs when the array is 4-byte aligned (the common case) and fall back to a plain loop otherwise;
 * both paths give the same result.
 */
import { F16_TABLE } from '../../tensor/fp16';

/** cnt[h] = number of elements with bit pattern h. */
export function histogramF16(bits: Uint16Array): Uint32Array {
  const cnt = new Uint32Array(65536);
  const n = bits.length;
  let i = 0;
  if (bits.byteOffset & 2 && n > 0) cnt[bits[i++]]++; // the rest starts 4-byte aligned
  const pairs = (n - i) >> 1;
  const u = new Uint32Array(bits.buffer, bits.byteOffset + 2 * i, pairs);
  for (let k = 0; k < pairs; k++) {
    const x = u[k];
    cnt[x & 0xffff]++;
    cnt[x >>> 16]++;
  }
  for (i += 2 * pairs; i < n; i++) cnt[bits[i]]++;
  return cnt;
}

/**
 * keep[i] = (bits[i] & 0x7fff) > tb, values = the kept elements as float32, in order. `values` must have
 * exactly as many elements as are kept (the caller knows the count from the histogram).
 *
 * Branch-free: every element is stored at values[j] and j advances by its keep bit; after the last kept
 * element the stores land at index values.length, past the end, which typed arrays ignore by definition.
 * (`c ? 1 : 0` would compile to a branch that mispredicts on half the elements at 50% sparsity.)
 */
export function gatherAboveF16(bits: Uint16Array, tb: number, keep: Uint8Array, values: Float32Array): void {
  const n = bits.length;
  const tab = F16_TABLE;
  let i = 0;
  let j = 0;
  if ((bits.byteOffset & 3) === 0 && (keep.byteOffset & 3) === 0) {
    // four elements per step: two 32-bit loads, one 32-bit store of four mask bytes
    const quads = n >> 2;
    const u = new Uint32Array(bits.buffer, bits.byteOffset, quads * 2);
    const k32 = new Uint32Array(keep.buffer, keep.byteOffset, quads);
    for (let q = 0; q < quads; q++) {
      const x = u[2 * q];
      const y = u[2 * q + 1];
      const h0 = x & 0xffff;
      const h1 = x >>> 16;
      const h2 = y & 0xffff;
      const h3 = y >>> 16;
      const k0 = (tb - (h0 & 0x7fff)) >>> 31;
      const k1 = (tb - (h1 & 0x7fff)) >>> 31;
      const k2 = (tb - (h2 & 0x7fff)) >>> 31;
      const k3 = (tb - (h3 & 0x7fff)) >>> 31;
      k32[q] = k0 | (k1 << 8) | (k2 << 16) | (k3 << 24);
      values[j] = tab[h0];
      j += k0;
      values[j] = tab[h1];
      j += k1;
      values[j] = tab[h2];
      j += k2;
      values[j] = tab[h3];
      j += k3;
    }
    i = quads * 4;
  }
  for (; i < n; i++) {
    const h = bits[i];
    const k = (tb - (h & 0x7fff)) >>> 31;
    keep[i] = k;
    values[j] = tab[h];
    j += k;
  }
}
