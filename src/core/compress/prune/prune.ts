/**
 * Pruning kernels with coremltools' semantics (_quantization_passes.py prune_weights):
 * - threshold: zero |w| <= threshold (threshold rounded to the weight dtype), skip below the minimum sparsity;
 * - magnitude: zero magnitude <= numpy.percentile(magnitude, 100 s) (linear interpolation; for fp16 the
 *   difference b - a is a half op and the threshold is rounded to fp16 before the comparison); ties at the
 *   threshold are all pruned, so sparsity can exceed the target;
 * - block magnitude: L2 norm over block_size consecutive entries along dim (fp16: square, sequential sum and
 *   sqrt each rounded to fp16), channel zero-padded;
 * - n:m: the n smallest |w| of each group of m along dim; ties → lower index first (numpy's small-array
 *   argsort is an insertion sort, hence stable); the axis is zero-padded and padded slots count as smallest.
 * The mask is w != 0 after pruning (existing zeros count as pruned).
 */
import { F16_TABLE } from '../../tensor/fp16';
import type { DenseTensor } from '../../model/types';
import type { OpMagnitudePrunerConfig, OpThresholdPrunerConfig, SparseRepr } from '../types';
import { f64ToF16, numel, r16, splitAxis } from '../numeric';
import { setHint } from '../hints';
import {
  countAbove,
  gatherAboveF16,
  gatherKeptF16,
  gatherKeptF32,
  histogramF16,
  histogramStats,
  keepAboveF16,
  keepAboveF32,
  keepNonzeroF16,
  keepNonzeroF32,
  kthMagnitude,
  magnitudeHistogramF16,
  r16Sum,
} from './f16-passes';
import { compactSparseF16 } from './compact';
import { ranksOfMagnitudes } from './f32-select';
import { CHUNK } from '../../tensor/pieces';

export type Skip = { skip: string };

/**
 * Builds the SparseRepr from the dense values and a keep predicate (keep[i] = 1 and w != 0). The loops are
 * branch-free (f16-passes.ts) and live in small functions, so that this one is not compiled mid-loop.
 */
export function sparseFrom(dense: DenseTensor, keep: Uint8Array): SparseRepr {
  let values: Float32Array;
  if (dense.dtype === 'fp16') {
    const bits = dense.data as Uint16Array;
    values = new Float32Array(keepNonzeroF16(bits, keep));
    gatherKeptF16(bits, keep, values);
  } else {
    const fl = dense.data as Float32Array;
    values = new Float32Array(keepNonzeroF32(fl, keep));
    gatherKeptF32(fl, keep, values);
  }
  return { kind: 'sparse', dtype: dense.dtype, shape: dense.shape.slice(), mask: keep, values };
}

export function pruneThreshold(dense: DenseTensor, cfg: OpThresholdPrunerConfig): SparseRepr | Skip {
  const n = numel(dense.shape);
  if (dense.dtype === 'fp16') {
    // |w| <= t with t rounded to fp16 ⇔ (bits & 0x7fff) <= bits(t) (zeros included, as bits(t) ≥ 0)
    const tb = f64ToF16(cfg.threshold) & 0x7fff;
    const cnt = histogramF16(dense.data as Uint16Array);
    const sparsity = (n - countAbove(cnt, tb)) / n;
    if (sparsity < cfg.minimum_sparsity_percentile) return belowMinimum(sparsity, cfg);
    return prunedAboveF16(dense, cnt, tb);
  }
  const keep = new Uint8Array(n);
  const kept = keepAboveF32(dense.data as Float32Array, Math.fround(cfg.threshold), keep); // NaN kept
  const sparsity = (n - kept) / n;
  if (sparsity < cfg.minimum_sparsity_percentile) return belowMinimum(sparsity, cfg);
  return sparseFrom(dense, keep);
}

function belowMinimum(sparsity: number, cfg: OpThresholdPrunerConfig): Skip {
  return {
    skip: `weight sparsity after thresholding is ${sparsity.toFixed(4)}, below minimum_sparsity_percentile ${cfg.minimum_sparsity_percentile}`,
  };
}

/** numpy.percentile(a, q) with the default linear method; `diff` rounds b - a like the array dtype does. */
export function lerpPercentile(lo: number, hi: number, gamma: number, diffRound: (x: number) => number): number {
  const d = diffRound(hi - lo);
  return gamma >= 0.5 ? hi - d * (1 - gamma) : lo + d * gamma;
}

export function pruneMagnitude(dense: DenseTensor, cfg: OpMagnitudePrunerConfig): SparseRepr | Skip {
  if (cfg.n_m_ratio) return pruneNM(dense, cfg.n_m_ratio, cfg.dim ?? 1);
  const n = numel(dense.shape);
  const s = cfg.target_sparsity ?? 0;
  const fp16 = dense.dtype === 'fp16';
  // magnitude map (fp16: as bit patterns of non-negative halves, whose integer order is the value order)
  let mag16: Uint16Array | null = null;
  let mag32: Float32Array | null = null;
  if (cfg.block_size != null) {
    const dim = cfg.dim ?? 0;
    const rank = dense.shape.length;
    if (rank < 2 || rank > 5) return { skip: `block sparsity supports weights of rank 2 to 5 (got rank ${rank})` };
    const channel = dense.shape[dim];
    if (cfg.block_size > channel / 2) {
      return { skip: `block_size ${cfg.block_size} > channel / 2 (channel = ${channel}) is not applicable for block sparsity` };
    }
    const m = blockNorms(dense, cfg.block_size, dim);
    if (fp16) mag16 = m as Uint16Array;
    else mag32 = m as Float32Array;
  } else if (fp16) {
    mag16 = dense.data as Uint16Array; // |w| ⇔ bits & 0x7fff (masked below)
  } else {
    mag32 = dense.data as Float32Array; // |w| taken below (the rank search ignores the sign bit)
  }
  const q = s * 100;
  if (q === 100) return sparseFrom(dense, new Uint8Array(n));
  if (q === 0) return sparseFrom(dense, new Uint8Array(n).fill(1));
  const vidx = (q / 100) * (n - 1);
  const loI = Math.floor(vidx);
  const hiI = Math.min(loI + 1, n - 1);
  const gamma = vidx - loI;
  if (mag16 && mag16 === dense.data) return pruneF16ByHistogram(dense, loI, hiI, gamma);
  const keep = new Uint8Array(n);
  if (mag16) {
    const cnt = new Uint32Array(0x8000);
    magnitudeHistogramF16(mag16, n, cnt);
    const kth = (k: number): number => {
      let acc = 0;
      for (let h = 0; h < 0x8000; h++) {
        acc += cnt[h];
        if (acc > k) return h;
      }
      return 0x7fff;
    };
    const a = F16_TABLE[kth(loI)];
    const b = F16_TABLE[kth(hiI)];
    const thr = lerpPercentile(a, b, gamma, r16);
    const tb = f64ToF16(thr) & 0x7fff; // threshold ≥ 0
    keepAboveF16(mag16, tb, keep); // (mag & 0x7fff) > tb
  } else {
    const m = mag32!;
    const [a, b] = ranksOfMagnitudes(new Uint32Array(m.buffer, m.byteOffset, n), loI, hiI);
    const thr = Math.fround(lerpPercentile(a, b, gamma, Math.fround));
    keepAboveF32(m, thr, keep); // NaN kept
  }
  return sparseFrom(dense, keep);
}

/**
 * Unstructured magnitude pruning of fp16 weights from one 65,536-bin histogram of the bit patterns: the
 * percentile, and the error statistics of the result (fused, see hints.ts). The loops live in small functions
 * (f16-passes.ts): a loop here would get this function compiled on stack replacement mid-loop, and that code
 * deoptimizes on the first statement after the loop, once per call.
 */
function pruneF16ByHistogram(dense: DenseTensor, loI: number, hiI: number, gamma: number): SparseRepr {
  const cnt = histogramF16(dense.data as Uint16Array);
  const tab = F16_TABLE;
  const thr = lerpPercentile(tab[kthMagnitude(cnt, loI)], tab[kthMagnitude(cnt, hiI)], gamma, r16);
  return prunedAboveF16(dense, cnt, f64ToF16(thr) & 0x7fff);
}

/** fp16 weights with every |w| pattern <= tb zeroed, as a compact SparseRepr with its statistics (hint). */
function prunedAboveF16(dense: DenseTensor, cnt: Uint32Array, tb: number): SparseRepr {
  const bits = dense.data as Uint16Array;
  // the number of nonzeros is known from the histogram: mask and gather in one pass
  const maskBits = new Uint8Array((bits.length + 7) >> 3);
  const values16 = new Uint16Array(countAbove(cnt, tb));
  gatherAboveF16(bits, tb, maskBits, values16);
  const sp = compactSparseF16(dense.shape.slice(), maskBits, values16);
  setHint(sp, dense, histogramStats(cnt, tb));
  return sp;
}

/** Per-element L2 norm of its block (fp16: bit patterns of the fp16 norms). */
function blockNorms(dense: DenseTensor, b: number, dim: number): Uint16Array | Float32Array {
  const [outer, C, inner] = splitAxis(dense.shape, dim);
  if (dense.dtype === 'fp16') return blockNormsF16(dense.data as Uint16Array, outer, C, inner, b);
  const fl = dense.data as Float32Array;
  const out = new Float32Array(outer * C * inner);
  const acc = new Float64Array(inner);
  const G = Math.ceil(C / b);
  const K = blocksPerPiece(b * inner);
  for (let k = 0; k < outer * G; k += K) blockNormsF32Piece(fl, C, inner, b, G, k, Math.min(outer * G, k + K), acc, out);
  return out;
}

/** Blocks per call of a block-norm piece: about CHUNK elements (tensor/pieces.ts), at least one block. */
function blocksPerPiece(elementsPerBlock: number): number {
  return Math.max(1, Math.floor(CHUNK / Math.max(1, elementsPerBlock)));
}

/** fp32 block norms of blocks k in [k0, k1) (block k: outer index k / G, channels from (k % G) · b). */
function blockNormsF32Piece(fl: Float32Array, C: number, inner: number, b: number, G: number, k0: number, k1: number, acc: Float64Array, out: Float32Array): void {
  const rd = Math.fround;
  for (let k = k0; k < k1; k++) {
    const o = Math.floor(k / G);
    const c0 = (k % G) * b;
    const c1 = Math.min(C, c0 + b);
    // sequential sum over the block (padded channels add 0)
    for (let r = 0, i = (o * C + c0) * inner; r < inner; r++, i++) acc[r] = rd(fl[i] * fl[i]);
    for (let c = c0 + 1; c < c1; c++)
      for (let r = 0, i = (o * C + c) * inner; r < inner; r++, i++) acc[r] = rd(acc[r] + rd(fl[i] * fl[i]));
    for (let r = 0; r < inner; r++) {
      const nv = rd(Math.sqrt(acc[r]));
      for (let c = c0; c < c1; c++) out[(o * C + c) * inner + r] = nv;
    }
  }
}

let squares16: Float64Array | null = null;

/** r16(v * v) for every fp16 magnitude pattern (the square of an fp16 value is exact in float32). */
function squareTableF16(): Float64Array {
  if (!squares16) {
    squares16 = new Float64Array(0x8000);
    for (let m = 0; m < 0x8000; m++) squares16[m] = r16(F16_TABLE[m] * F16_TABLE[m]);
  }
  return squares16;
}

/** fp16 block norms as numpy's half arithmetic: square, sequential sum and sqrt each rounded to fp16. */
function blockNormsF16(bits: Uint16Array, outer: number, C: number, inner: number, b: number): Uint16Array {
  const out = new Uint16Array(outer * C * inner);
  const sq = squareTableF16();
  const acc = new Float64Array(inner);
  const G = Math.ceil(C / b);
  const K = blocksPerPiece(b * inner);
  for (let k = 0; k < outer * G; k += K) blockNormsF16Piece(bits, C, inner, b, G, k, Math.min(outer * G, k + K), sq, acc, out);
  return out;
}

function blockNormsF16Piece(bits: Uint16Array, C: number, inner: number, b: number, G: number, k0: number, k1: number, sq: Float64Array, acc: Float64Array, out: Uint16Array): void {
  for (let k = k0; k < k1; k++) {
    const o = Math.floor(k / G);
    const c0 = (k % G) * b;
    const c1 = Math.min(C, c0 + b);
    for (let r = 0, i = (o * C + c0) * inner; r < inner; r++, i++) acc[r] = sq[bits[i] & 0x7fff];
    for (let c = c0 + 1; c < c1; c++)
      for (let r = 0, i = (o * C + c) * inner; r < inner; r++, i++) acc[r] = r16Sum(acc[r] + sq[bits[i] & 0x7fff]);
    for (let r = 0; r < inner; r++) {
      const hb = f64ToF16(r16(Math.sqrt(acc[r]))) & 0x7fff; // once per block, not per element
      for (let c = c0; c < c1; c++) out[(o * C + c) * inner + r] = hb;
    }
  }
}

function pruneNM(dense: DenseTensor, nm: [number, number], dim: number): SparseRepr | Skip {
  const [nPrune, m] = nm;
  const rank = dense.shape.length;
  if (rank < 2 || rank > 5) return { skip: `n:m pruning supports weights of rank 2 to 5 (got rank ${rank})` };
  const [outer, C, inner] = splitAxis(dense.shape, dim);
  if (m > C / 2) return { skip: `m ${m} > channel / 2 (channel = ${C}) is not applicable for n:m pruning` };
  const n = outer * C * inner;
  const fast = nmKeepByRank(dense, outer, C, inner, nPrune, m);
  if (fast) return sparseFrom(dense, fast);
  // NaN among the weights: the insertion sort below, whose comparisons with NaN are all false, is the definition
  const keep = new Uint8Array(n).fill(1);
  const tab = F16_TABLE;
  const bits = dense.dtype === 'fp16' ? (dense.data as Uint16Array) : null;
  const fl = bits ? null : (dense.data as Float32Array);
  const mag = new Float64Array(m);
  const ord = new Int32Array(m);
  for (let o = 0; o < outer; o++)
    for (let r = 0; r < inner; r++)
      for (let c0 = 0; c0 < C; c0 += m) {
        for (let j = 0; j < m; j++) {
          const c = c0 + j;
          mag[j] = c < C ? Math.abs(bits ? tab[bits[(o * C + c) * inner + r]] : fl![(o * C + c) * inner + r]) : 0;
          ord[j] = j;
        }
        // stable insertion sort by magnitude
        for (let a = 1; a < m; a++) {
          const x = ord[a];
          let b = a - 1;
          while (b >= 0 && mag[ord[b]] > mag[x]) {
            ord[b + 1] = ord[b];
            b--;
          }
          ord[b + 1] = x;
        }
        for (let t = 0; t < nPrune; t++) {
          const c = c0 + ord[t];
          if (c < C) keep[(o * C + c) * inner + r] = 0;
        }
      }
  return sparseFrom(dense, keep);
}

/**
 * n:m keep mask by rank counting instead of sorting each group: the stable ascending position of element j
 * in its group is #{k < j: |w_k| <= |w_j|} + #{k > j: |w_k| < |w_j|} (padded slots, |w| = 0, sit after the
 * real ones), and j is pruned when that position is below n. Branch-free, O(m²) per group. Returns null
 * when a weight is NaN (no order; the caller then runs the insertion sort of the definition).
 */
function nmKeepByRank(dense: DenseTensor, outer: number, C: number, inner: number, nPrune: number, m: number): Uint8Array | null {
  const keep = new Uint8Array(outer * C * inner);
  const bits = dense.dtype === 'fp16' ? (dense.data as Uint16Array) : null;
  const fl = bits ? null : (dense.data as Float32Array);
  const kk = new Float64Array(m);
  const G = Math.ceil(C / m); // groups along the axis per (o, r)
  const total = outer * inner * G;
  const P = blocksPerPiece(m);
  let nan = 0;
  for (let g = 0; g < total; g += P) nan |= nmPiece(bits, fl, C, inner, nPrune, m, G, g, Math.min(total, g + P), kk, keep);
  return nan ? null : keep;
}

/** Groups g in [g0, g1) in the order (o, r, c0) of nmKeepByRank; returns 1 when a weight is NaN. */
function nmPiece(
  bits: Uint16Array | null,
  fl: Float32Array | null,
  C: number,
  inner: number,
  nPrune: number,
  m: number,
  G: number,
  g0: number,
  g1: number,
  kk: Float64Array,
  keep: Uint8Array,
): number {
  const tab = F16_TABLE;
  let nan = 0;
  // (o, r, c0) of group g0, then stepped (no divisions per group)
  const or0 = Math.floor(g0 / G);
  let o = Math.floor(or0 / inner);
  let r = or0 % inner;
  let c0 = (g0 % G) * m;
  for (let g = g0; g < g1; g++) {
    const len = Math.min(m, C - c0);
    const base = (o * C + c0) * inner + r;
    for (let j = 0; j < m; j++) {
      const a = j < len ? Math.abs(bits ? tab[bits[base + j * inner]] : fl![base + j * inner]) : 0;
      kk[j] = a;
      nan |= +(a !== a);
    }
    for (let j = 0; j < len; j++) {
      const x = kk[j];
      let pos = 0;
      for (let k = 0; k < j; k++) pos += +(kk[k] <= x);
      for (let k = j + 1; k < m; k++) pos += +(kk[k] < x);
      keep[base + j * inner] = +(pos >= nPrune);
    }
    c0 += m;
    if (c0 >= C) {
      c0 = 0;
      if (++r === inner) {
        r = 0;
        o++;
      }
    }
  }
  return nan;
}
