/**
 * NeuralNetwork kmeans_lut: one LUT of 2^nbits entries per weight field. coremltools runs scikit-learn
 * KMeans on the float64 values (n_clusters = min(count, 2^nbits), unused entries 0); we use the exact
 * optimal 1-D k-means over the sorted distinct values weighted by count (engineer C's
 * `palettize/kmeans1d.ts`), so the error is never worse than coremltools'. That is O(k n log n) in the
 * number n of distinct values (about 4 µs per value at 16 clusters), so above EXACT_LIMIT distinct values
 * (float32 tensors are mostly distinct) we solve the exact problem on contiguous bins of the sorted values
 * (closed by count or by value width) and polish the result with Lloyd iterations on the full data (each O(k log n) with prefix sums), which
 * never increase the error; measured against the exact optimum below.
 */
import type { Compressed } from '../types';
import { kmeansOptimal } from '../palettize/kmeans1d';
import { lutRepr } from './repr';

/** `w` sorted ascending (a radix sort on the float bits for big tensors: Array.prototype.sort takes seconds). */
export function sortedFloats(w: Float32Array): Float32Array {
  const n = w.length;
  if (n < 4096) return Float32Array.from(w).sort();
  const bits = new Uint32Array(w.buffer, w.byteOffset, n);
  let a = new Uint32Array(n);
  let b = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const x = bits[i];
    a[i] = x & 0x80000000 ? ~x >>> 0 : (x | 0x80000000) >>> 0; // order-preserving key
  }
  for (let shift = 0; shift < 32; shift += 16) {
    const count = new Uint32Array(65537);
    for (let i = 0; i < n; i++) count[((a[i] >>> shift) & 0xffff) + 1]++;
    for (let d = 0; d < 65536; d++) count[d + 1] += count[d];
    for (let i = 0; i < n; i++) b[count[(a[i] >>> shift) & 0xffff]++] = a[i];
    const t = a;
    a = b;
    b = t;
  }
  for (let i = 0; i < n; i++) {
    const k = a[i];
    a[i] = k & 0x80000000 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  }
  return new Float32Array(a.buffer, 0, n);
}

/** Sorted distinct values of `w` with their counts. */
export function histogram(w: Float32Array): { xs: Float64Array; ws: Float64Array } {
  const sorted = sortedFloats(w);
  let n = 0;
  const xs = new Float64Array(sorted.length);
  const ws = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    if (n > 0 && xs[n - 1] === v) ws[n - 1]++;
    else {
      xs[n] = v;
      ws[n] = 1;
      n++;
    }
  }
  return { xs: xs.subarray(0, n), ws: ws.subarray(0, n) };
}

/** Distinct-value count above which the binned solve + Lloyd polish replaces the exact one. */
export const EXACT_LIMIT = 1 << 16;

/** Cluster centres (ascending) of a weighted 1-D k-means over sorted distinct `xs` (palettize/kmeans1d). */
export function kmeansCenters(xs: Float64Array, ws: Float64Array, k: number, exactLimit = EXACT_LIMIT): Float64Array {
  return kmeansOptimal(xs, ws, k, exactLimit).centers;
}

export function kmeansLut(w: Float32Array, shape: number[], nbits: number): Compressed {
  const k = 1 << nbits;
  const { xs, ws } = histogram(w);
  const centers = kmeansCenters(xs, ws, k);
  const K = centers.length;
  const lut = new Float32Array(k); // entries past K stay 0, as coremltools leaves them
  for (let c = 0; c < K; c++) lut[c] = centers[c];
  // each value → the nearest stored (float32) centre, the lower one on a tie: count the midpoints below it
  const mids = new Float64Array(Math.max(0, K - 1));
  for (let c = 0; c + 1 < K; c++) mids[c] = (lut[c] + lut[c + 1]) / 2;
  const indices = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const x = w[i];
    let lo = 0;
    let hi = mids.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (x > mids[m]) lo = m + 1;
      else hi = m;
    }
    indices[i] = lo;
  }
  return lutRepr(shape, nbits, indices, lut);
}
