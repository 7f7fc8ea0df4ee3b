/**
 * NeuralNetwork kmeans_lut: one LUT of 2^nbits entries per weight field. coremltools runs scikit-learn
 * KMeans on the float64 values (n_clusters = min(count, 2^nbits), unused entries 0); we use the exact
 * optimal 1-D k-means over the sorted distinct values weighted by count (engineer C's
 * `palettize/kmeans1d.ts`), so the error is never worse than coremltools'.
 */
import type { Compressed } from '../types';
import { kmeans1d } from '../palettize/kmeans1d';
import { lutRepr } from './repr';

/** Sorted distinct values of `w` with their counts. */
export function histogram(w: Float32Array): { xs: Float64Array; ws: Float64Array } {
  const sorted = Float32Array.from(w).sort();
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

export function kmeansLut(w: Float32Array, shape: number[], nbits: number): Compressed {
  const k = 1 << nbits;
  const { xs, ws } = histogram(w);
  const res = kmeans1d(xs, ws, k);
  const K = res.centers.length;
  const lut = new Float32Array(k); // entries past K stay 0, as coremltools leaves them
  for (let c = 0; c < K; c++) lut[c] = res.centers[c];
  // each distinct value → the nearest stored (float32) centre; centres ascend, so one merge pass
  const code = new Uint8Array(xs.length);
  let c = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    while (c + 1 < K && Math.abs(lut[c + 1] - x) < Math.abs(lut[c] - x)) c++;
    code[i] = c;
  }
  const indices = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) indices[i] = code[lowerBound(xs, w[i])];
  return lutRepr(shape, nbits, indices, lut);
}

function lowerBound(xs: Float64Array, v: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
