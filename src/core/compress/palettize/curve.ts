/**
 * The size/error curve of per-tensor k-means palettization at several bit widths, from one pass over the tensor.
 *
 * The engine (palettize.ts) builds the weighted histogram of the distinct values, runs optimal 1-D k-means,
 * rounds the centers to the weight dtype and gives every element the nearest rounded entry. Here the histogram is
 * built once and every bit width reuses it, and so does the k-means DP (kmeansOptimalMany: the layers of the
 * largest K serve every smaller one); then the error of the nearest-entry assignment is summed over the distinct
 * values (count × error²), never over the elements again. The numbers are
 * those compressJob reports for `OpPalettizerConfig(mode="kmeans", nbits, granularity="per_tensor")`; bytes are
 * the Core ML payload: packed indices ceil(n·nbits/8) plus 2^nbits LUT entries in the weight dtype (formats.md).
 */
import { F16_TABLE } from '../../tensor/fp16';
import type { DenseTensor } from '../../model/types';
import { kmeansOptimalMany } from './kmeans1d';
import { countF16 } from './f16scan';
import { rdtd } from '../numeric';
import { distinctCounts } from './palettize';

export interface CurvePoint {
  nbits: number;
  /** payload bytes as the Core ML writer stores them (indices + LUT) */
  bytes: number;
  /** sum of squared errors over all elements */
  sse: number;
  /** 10·log10(Σw² / sse); Infinity when sse = 0 */
  snrDb: number;
  /** sse / element count */
  mse: number;
  maxAbsErr: number;
  /** fraction of elements decoded to exactly 0 */
  sparsity: number;
  /** distinct decoded values actually used */
  distinct: number;
}

interface Hist {
  /** distinct values ascending (−0 merged into 0) */
  xs: Float64Array;
  /** element count of each */
  ws: Float64Array;
  /** Σ w² over the elements, in the order the engine's metrics sum it */
  sig: number;
}

/** fp16: counts by bit pattern in one pass; the distinct values in the engine's order (negatives, 0, positives). */
function histF16(bits: Uint16Array): Hist & { cnt: Float64Array } {
  const cnt = new Float64Array(65536);
  countF16(bits, 0, bits.length, cnt);
  const tab = F16_TABLE;
  let d = 0;
  let sig = 0;
  for (let h = 0; h < 65536; h++) {
    const c = cnt[h];
    if (!c) continue;
    const w = tab[h];
    sig += c * w * w;
    // finite values only (the engine's histogram skips NaN / ±Inf patterns)
    if ((h & 0x7fff) <= 0x7bff && h !== 0x8000) d++;
  }
  const xs = new Float64Array(d);
  const ws = new Float64Array(d);
  let j = 0;
  for (let h = 0xfbff; h >= 0x8001; h--) if (cnt[h]) {
    xs[j] = tab[h];
    ws[j++] = cnt[h];
  }
  const z = cnt[0x8000] + cnt[0];
  if (z) {
    xs[j] = 0;
    ws[j++] = z;
  }
  for (let h = 1; h <= 0x7bff; h++) if (cnt[h]) {
    xs[j] = tab[h];
    ws[j++] = cnt[h];
  }
  return { xs: j === d ? xs : xs.subarray(0, j), ws: j === d ? ws : ws.subarray(0, j), sig, cnt };
}

/** fp32: sorted copy, then distinct values with counts. */
function histF32(vals: Float32Array): Hist {
  const m = vals.length;
  const v = new Float64Array(m);
  let sig = 0;
  for (let i = 0; i < m; i++) {
    const x = vals[i];
    sig += x * x;
    v[i] = x === 0 ? 0 : x;
  }
  return { ...distinctCounts(v), sig };
}

/** Index of the nearest entry of an ascending list (ties → the lower index, as the engine assigns). */
function nearest(sv: ArrayLike<number>, x: number): number {
  const m = sv.length;
  let lo = 0;
  let hi = m;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sv[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo === m) return m - 1;
  return sv[lo] - x < x - sv[lo - 1] ? lo : lo - 1;
}

/**
 * Per-tensor k-means palettization at each of `bits` (1..8), as compressJob would report it, without building
 * indices or a LUT representation. An empty tensor gives zero errors.
 */
export function palettizeCurve(dense: DenseTensor, bits: readonly number[]): CurvePoint[] {
  const n = dense.data.length;
  const f16 = dense.dtype === 'fp16';
  const h = f16 ? histF16(dense.data as Uint16Array) : histF32(dense.data as Float32Array);
  const tab = F16_TABLE;
  const out: CurvePoint[] = [];
  for (const nbits of bits) {
    if (!Number.isInteger(nbits) || nbits < 1 || nbits > 8) throw new RangeError(`palettizeCurve: nbits must be 1..8 (got ${nbits})`);
  }
  // one DP for every bit width (the same optimum, ties included, as one kmeansOptimal per width)
  const sols = h.xs.length ? kmeansOptimalMany(h.xs, h.ws, bits.map((b) => 1 << b)) : [];
  for (let t = 0; t < bits.length; t++) {
    const nbits = bits[t];
    const K = 1 << nbits;
    const bytes = Math.ceil((n * nbits) / 8) + K * (f16 ? 2 : 4);
    const entries = h.xs.length ? Array.from(sols[t].centers, (c) => rdtd(dense.dtype, c)) : [];
    // the engine sorts entries with their slots; k-means centers are ascending, rounding keeps them non-decreasing
    const used = new Float64Array(entries.length);
    let se = 0;
    let mx = 0;
    if (f16 && 'cnt' in h) {
      // the engine's order: bit patterns 0..65535 (its fused statistics and its metrics histogram both)
      const cnt = h.cnt as Float64Array;
      for (let b = 0; b < 65536; b++) {
        const c = cnt[b];
        if (!c) continue;
        const w = tab[b];
        const k = nearest(entries, w);
        const e = w - entries[k];
        se += c * e * e;
        const a = Math.abs(e);
        if (a > mx) mx = a;
        used[k] += c;
      }
    } else {
      for (let i = 0; i < h.xs.length; i++) {
        const w = h.xs[i];
        const k = nearest(entries, w);
        const e = w - entries[k];
        se += h.ws[i] * e * e;
        const a = Math.abs(e);
        if (a > mx) mx = a;
        used[k] += h.ws[i];
      }
    }
    const vals = new Set<number>();
    let zeros = 0;
    for (let k = 0; k < entries.length; k++) if (used[k] > 0) {
      vals.add(entries[k] === 0 ? 0 : entries[k]);
      if (entries[k] === 0) zeros += used[k];
    }
    out.push({
      nbits,
      bytes,
      sse: se,
      snrDb: se === 0 ? Infinity : h.sig === 0 ? -Infinity : 10 * Math.log10(h.sig / se),
      mse: n ? se / n : 0,
      maxAbsErr: mx,
      sparsity: n ? zeros / n : 0,
      distinct: vals.size,
    });
  }
  return out;
}
