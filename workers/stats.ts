/**
 * Statistics of one weight's float values, in one pass plus a count of distinct values: min, max, mean,
 * std (population, float64 accumulation), exact-zero fraction and a histogram. Pure; runs in a worker.
 * fp16 weights (weightStatsF16) go through a histogram of their bit patterns instead: one pass over the data,
 * no widened float32 copy, everything else over the ≤ 65,536 patterns present.
 */
import { F16_TABLE } from '../src/core/tensor/fp16';
import { countF16 } from '../src/core/compress/palettize/f16scan';

export interface WeightStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** fraction of values exactly 0 (or -0) */
  sparsity: number;
  zeros: number;
  unique: number;
  /** bin counts over [histMin, histMax] */
  hist: number[];
  histMin: number;
  histMax: number;
}

export function weightStats(v: Float32Array, bins = 64, unique?: number): WeightStats {
  const n = v.length;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    if (x === 0) zeros++;
  }
  const mean = n ? sum / n : 0;
  let ss = 0;
  const hist = new Array<number>(bins).fill(0);
  const lo = n ? min : 0;
  const hi = n ? max : 0;
  const width = hi > lo ? (hi - lo) / bins : 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    const d = x - mean;
    ss += d * d;
    let b = width > 0 ? Math.floor((x - lo) / width) : 0;
    if (b >= bins) b = bins - 1;
    if (b >= 0) hist[b]++;
  }
  return finish(n, min, max, mean, ss, zeros, unique ?? countDistinct(v), hist);
}

/** The statistics from the sums of either path (n = 0: zeros throughout). */
function finish(n: number, min: number, max: number, mean: number, ss: number, zeros: number, unique: number, hist: number[]): WeightStats {
  return {
    count: n,
    min: n ? min : 0,
    max: n ? max : 0,
    mean,
    std: n ? Math.sqrt(ss / n) : 0,
    sparsity: n ? zeros / n : 0,
    zeros,
    unique,
    hist,
    histMin: n ? min : 0,
    histMax: n ? max : 0,
  };
}

/** Distinct values (0 and -0 count once; NaN ignored). Sorts a copy: the input stays as it is. */
export function countDistinct(v: Float32Array): number {
  if (v.length === 0) return 0;
  const s = Float32Array.from(v).sort();
  let count = 0;
  let prev = NaN;
  for (let i = 0; i < s.length; i++) {
    const x = s[i];
    if (x !== x) continue;
    if (count === 0 || x !== prev) {
      count++;
      prev = x;
    }
  }
  return count;
}

/** Distinct values of fp16 data from its bits, in one pass (a 65,536-entry table): 0 and -0 once, NaNs ignored. */
export function countDistinctF16(bits: Uint16Array): number {
  const seen = new Uint8Array(65536);
  let count = 0;
  for (let i = 0; i < bits.length; i++) {
    let h = bits[i];
    if (h === 0x8000) h = 0;
    if ((h & 0x7c00) === 0x7c00 && (h & 0x03ff) !== 0) continue; // NaN
    if (seen[h] === 0) {
      seen[h] = 1;
      count++;
    }
  }
  return count;
}

/** Per-pattern counts, reused (a worker runs one call at a time); float64 so that count · value is exact. */
const F16_COUNTS = new Float64Array(65536);

/**
 * weightStats of fp16 data from its bit patterns: the same statistics as weightStats(f16ArrayToF32(bits)) —
 * min, max, zeros, distinct count and histogram exactly; mean and std summed per pattern (count · value is exact
 * in float64), so they differ from the element-order sums only by float64 rounding (and are more accurate).
 * NaNs behave as there: ignored by min, max, the histogram and the distinct count, and they make mean and std NaN.
 */
export function weightStatsF16(bits: Uint16Array, bins = 64): WeightStats {
  const n = bits.length;
  const cnt = F16_COUNTS;
  cnt.fill(0);
  countF16(bits, 0, n, cnt); // the palettizer's pattern histogram (pieces, two patterns per 32-bit load)
  const tab = F16_TABLE;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let unique = 0;
  for (let h = 0; h < 65536; h++) {
    const c = cnt[h];
    if (c === 0) continue;
    const x = tab[h];
    sum += c * x;
    if (x !== x) continue; // NaN
    if (x < min) min = x;
    if (x > max) max = x;
    if (h !== 0x8000 || cnt[0] === 0) unique++; // 0 and -0 once
  }
  const zeros = cnt[0] + cnt[0x8000];
  const mean = n ? sum / n : 0;
  let ss = 0;
  const hist = new Array<number>(bins).fill(0);
  const lo = n ? min : 0;
  const hi = n ? max : 0;
  const width = hi > lo ? (hi - lo) / bins : 0;
  for (let h = 0; h < 65536; h++) {
    const c = cnt[h];
    if (c === 0) continue;
    const x = tab[h];
    const d = x - mean;
    ss += c * d * d;
    let b = width > 0 ? Math.floor((x - lo) / width) : 0;
    if (b >= bins) b = bins - 1;
    if (b >= 0) hist[b] += c;
  }
  return finish(n, min, max, mean, ss, zeros, unique, hist);
}

