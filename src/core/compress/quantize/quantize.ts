/**
 * Linear quantization kernel with coremltools' arithmetic (optimize/_utils.py compute_qparams_by_dtype):
 * every intermediate is rounded to the weight dtype (fp16 via float32, as numpy's half ufuncs do), and the
 * integer rounding is round-half-to-even. The codes of fp16 weights come from symmetric.ts (exact per-scale
 * thresholds on the bit pattern and a code table per distinct scale and zero point): signed symmetric (int8 /
 * int4 linear_symmetric, the common case) entirely there (quantizeSymF16), every other mode with the scales
 * and zero points computed here (codesF16General). For fp32 weights a fast path skips the exact fp32 rounding
 * of w/scale when the quotient is far from a .5 tie, where it cannot change the integer.
 * Faithful quirk: in `linear` mode the zero point's fp16 products (qmax * min) overflow to ±inf once
 * |w| · 255 ≥ 65504, and the zero point then clips to qmin / qmax, exactly as numpy does in coremltools.
 */
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import { CHUNK } from '../../tensor/pieces';
import type { DenseTensor } from '../../model/types';
import type { AffineRepr, OpLinearQuantizerConfig, WeightContext } from '../types';
import { normAxis, numel, r16, strides } from '../numeric';
import { quantRange } from './options';
import { setHint, type ErrStats } from '../hints';
import { codesF16General, maxAbsRunsF16, quantizeSymF16 } from './symmetric';

const NOT_FINITE = 'the weight contains inf or NaN, which linear quantization does not support';

export type Skip = { skip: string };

/** Block size per axis (0 = whole axis), formats.md §7.5. */
export function quantBlockSizes(cfg: OpLinearQuantizerConfig, shape: readonly number[], ctx: WeightContext): number[] | Skip {
  const rank = shape.length;
  if (cfg.granularity === 'per_block' && Array.isArray(cfg.block_size)) {
    if (cfg.block_size.length !== rank) {
      return { skip: `block_size has ${cfg.block_size.length} entries but the weight has rank ${rank}` };
    }
    return cfg.block_size.slice();
  }
  const out = new Array<number>(rank).fill(0);
  const oa = normAxis(ctx.outputAxis, rank);
  const ia = normAxis(ctx.inputAxis, rank);
  if (cfg.granularity === 'per_channel') out[oa] = 1;
  else if (cfg.granularity === 'per_block') {
    if (ia < rank) out[ia] = cfg.block_size as number;
    out[oa] = 1;
  }
  return out;
}

export function quantGrid(shape: readonly number[], blocks: readonly number[]): number[] | Skip {
  const grid: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const b = blocks[d];
    if (b > 0) {
      if (shape[d] % b !== 0) {
        return { skip: `the dim size ${shape[d]} on axis ${d} is not divisible by block size ${b}` };
      }
      grid.push(shape[d] / b);
    } else grid.push(1);
  }
  return grid;
}

/**
 * The runs of forEachRun as data: every run has runLen elements, run r starts at r · runLen and lies in block
 * blocks[r].
 */
export function runBlocks(shape: readonly number[], grid: readonly number[]): { runLen: number; blocks: Int32Array } {
  const { a, runLen, runs } = runGeometry(shape, grid);
  const blocks = new Int32Array(runs);
  if (a < 0) return { runLen, blocks };
  const gstr = strides(grid);
  const bs = shape.map((d, i) => d / grid[i]);
  const ga = grid[a];
  // run r ↔ (i_0 .. i_{a-1}, blockA): the block index of the leading dims changes once per ga runs
  for (let r0 = 0; r0 < runs; r0 += ga) {
    let rem = r0 / ga;
    let lead = 0;
    for (let d = a - 1; d >= 0; d--) {
      const i = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      lead += Math.floor(i / bs[d]) * gstr[d];
    }
    for (let j = 0; j < ga; j++) blocks[r0 + j] = lead + j * gstr[a];
  }
  return { runLen, blocks };
}

/** The last axis a with more than one block (-1: none), the run length and the number of runs. */
function runGeometry(shape: readonly number[], grid: readonly number[]): { a: number; runLen: number; runs: number } {
  const n = numel(shape);
  let a = -1;
  for (let d = shape.length - 1; d >= 0; d--) if (grid[d] > 1) {
    a = d;
    break;
  }
  if (a < 0) return { a, runLen: n, runs: 1 };
  let tail = 1;
  for (let d = a + 1; d < shape.length; d++) tail *= shape[d];
  const runLen = (shape[a] / grid[a]) * tail;
  return { a, runLen, runs: n / runLen };
}

/**
 * Calls fn(start, len, block) for maximal contiguous runs of elements that share one block of the grid.
 */
export function forEachRun(shape: readonly number[], grid: readonly number[], fn: (start: number, len: number, block: number) => void): void {
  const rank = shape.length;
  const n = numel(shape);
  let a = -1;
  for (let d = rank - 1; d >= 0; d--) if (grid[d] > 1) {
    a = d;
    break;
  }
  if (a < 0) {
    fn(0, n, 0);
    return;
  }
  let tail = 1;
  for (let d = a + 1; d < rank; d++) tail *= shape[d];
  const bsA = shape[a] / grid[a];
  const runLen = bsA * tail;
  const runs = n / runLen;
  const gstr = strides(grid);
  // run r ↔ (i_0 .. i_{a-1}, blockA)
  const lead = shape.slice(0, a);
  const bs = shape.map((d, i) => d / grid[i]);
  for (let r = 0; r < runs; r++) {
    let rem = Math.floor(r / grid[a]);
    let block = (r % grid[a]) * gstr[a];
    for (let d = a - 1; d >= 0; d--) {
      const i = rem % lead[d];
      rem = Math.floor(rem / lead[d]);
      block += Math.floor(i / bs[d]) * gstr[d];
    }
    fn(r * runLen, runLen, block);
  }
}

export function quantize(dense: DenseTensor, cfg: OpLinearQuantizerConfig, ctx: WeightContext): AffineRepr | Skip {
  const blocks = quantBlockSizes(cfg, dense.shape, ctx);
  if (!Array.isArray(blocks)) return blocks;
  const grid = quantGrid(dense.shape, blocks);
  if (!Array.isArray(grid)) return grid;
  return quantizeGrid(dense, cfg.mode, cfg.dtype, grid);
}

export function quantizeGrid(
  dense: DenseTensor,
  mode: OpLinearQuantizerConfig['mode'],
  qdtype: OpLinearQuantizerConfig['dtype'],
  grid: number[],
): AffineRepr | Skip {
  const n = numel(dense.shape);
  const nb = numel(grid);
  const fp16 = dense.dtype === 'fp16';
  const bits = fp16 ? (dense.data as Uint16Array) : null;
  const fl = fp16 ? null : (dense.data as Float32Array);
  const tab = F16_TABLE;
  const rd = fp16 ? r16 : Math.fround;
  const [qmin, qmax] = quantRange(qdtype, mode);
  const signed = qdtype.startsWith('int');
  if (bits && mode === 'linear_symmetric' && signed && n > 0) {
    // int8 / int4 symmetric over fp16, the common case: its own module (zero point 0, codes -qmax..qmax)
    const rb = runBlocks(dense.shape, grid);
    const r = quantizeSymF16(bits, rb.runLen, rb.blocks, nb, qmax);
    if (!r) return { skip: NOT_FINITE };
    const repr: AffineRepr = { kind: 'affine', dtype: 'fp16', qdtype, shape: dense.shape.slice(), data: r.data, scale: r.scale, scaleShape: grid.slice() };
    setHint(repr, dense, r.st);
    return repr;
  }

  // pass 1: min / max per block
  const mn = new Float64Array(nb).fill(Infinity);
  const mx = new Float64Array(nb).fill(-Infinity);
  let finite = true;
  if (bits && mode === 'linear_symmetric') {
    // symmetric: only max |w| matters; fp16 magnitudes order like their bit patterns
    const mm = new Int32Array(nb).fill(-1);
    const rb = runBlocks(dense.shape, grid);
    maxAbsRunsF16(bits, rb.runLen, rb.blocks, mm);
    for (let b = 0; b < nb; b++) {
      mx[b] = tab[mm[b]];
      mn[b] = -mx[b];
    }
  } else if (bits) {
    // fp16 order by bit pattern: positives ascend with the bits, negatives with bits & 0x7fff
    const posMax = new Int32Array(nb).fill(-1);
    const negMax = new Int32Array(nb).fill(-1);
    forEachRun(dense.shape, grid, (s, len, b) => maxBitsF16(bits, s, len, b, posMax, negMax));
    // a block holding only negatives (or only positives) has its max (min) on the other side of 0
    forEachRun(dense.shape, grid, (s, len, b) => {
      if (posMax[b] >= 0 && negMax[b] >= 0) return;
      MINMAX[0] = Infinity;
      MINMAX[1] = -Infinity;
      minMaxRuns(bits, null, s, len, MINMAX);
      if (MINMAX[0] < mn[b]) mn[b] = MINMAX[0];
      if (MINMAX[1] > mx[b]) mx[b] = MINMAX[1];
    });
    for (let b = 0; b < nb; b++) {
      if (negMax[b] >= 0 && posMax[b] >= 0) {
        mn[b] = -tab[negMax[b]];
        mx[b] = tab[posMax[b]];
      }
    }
  } else forEachRun(dense.shape, grid, (s, len, b) => {
    MINMAX[0] = mn[b];
    MINMAX[1] = mx[b];
    minMaxRuns(bits, fl, s, len, MINMAX);
    mn[b] = MINMAX[0];
    mx[b] = MINMAX[1];
  });
  for (let b = 0; b < nb; b++) if (!Number.isFinite(mn[b]) || !Number.isFinite(mx[b])) finite = false;
  if (!finite) return { skip: NOT_FINITE };

  const scale = new Float32Array(nb);
  const zp = new Float64Array(nb);
  const hasOffset = mode === 'linear' || !signed;
  for (let b = 0; b < nb; b++) {
    let vmin: number;
    let vmax: number;
    if (mode === 'linear_symmetric') {
      const m = Math.max(Math.abs(mn[b]), Math.abs(mx[b]));
      vmin = -m;
      vmax = m;
    } else {
      vmin = Math.min(0, mn[b]);
      vmax = Math.max(0, mx[b]);
    }
    const range = rd(vmax - vmin);
    scale[b] = rd(range / (qmax - qmin));
    if (mode === 'linear_symmetric') zp[b] = signed ? 0 : Math.floor(qmax / 2);
    else {
      const z = rd(rd(rd(qmin * vmax) - rd(qmax * vmin)) / range);
      let zr = rheLocal(z);
      if (Number.isNaN(zr)) zr = 0;
      zp[b] = Math.min(qmax, Math.max(qmin, zr));
    }
  }

  // pass 2: codes, with the error statistics of the decoded values fused in (see hints.ts)
  const data = signed ? new Int8Array(n) : new Uint8Array(n);
  let st: ErrStats;
  if (bits) {
    // fp16: codes by thresholds and per-(scale, zero point) tables, as the symmetric path (symmetric.ts)
    const rb = runBlocks(dense.shape, grid);
    const amax = new Int32Array(nb);
    for (let b = 0; b < nb; b++) amax[b] = f32ToF16(Math.max(Math.abs(mn[b]), Math.abs(mx[b]))) & 0x7fff;
    const out = data instanceof Int8Array ? data : new Int8Array(data.buffer, data.byteOffset, n);
    st = n > 0 ? codesF16General(bits, rb.runLen, rb.blocks, scale, zp, amax, qmin, qmax, out) : { se: 0, sig: 0, mx: 0, zeros: 0, distinct: 0 };
  } else st = codesF32Runs(fl!, dense.shape, grid, scale, zp, qmin, qmax, data);
  const repr: AffineRepr = {
    kind: 'affine',
    dtype: dense.dtype,
    qdtype,
    shape: dense.shape.slice(),
    data,
    scale,
    scaleShape: grid.slice(),
  };
  if (hasOffset) {
    const off = signed ? new Int8Array(nb) : new Uint8Array(nb);
    for (let b = 0; b < nb; b++) off[b] = zp[b];
    repr.offset = off;
  }
  setHint(repr, dense, st);
  return repr;
}

/** Pass 2 over fp32 runs: codes and fused statistics (distinct decoded values in a Set). */
function codesF32Runs(
  fl: Float32Array,
  shape: readonly number[],
  grid: readonly number[],
  scale: Float32Array,
  zp: Float64Array,
  qmin: number,
  qmax: number,
  data: Int8Array | Uint8Array,
): ErrStats {
  const st: ErrStats = { se: 0, sig: 0, mx: 0, zeros: 0, distinct: 0 };
  const distinct = new Set<number>();
  const dec = new Float64Array(256);
  const used = new Uint8Array(256);
  forEachRun(shape, grid, (s, len, b) => {
    const sc = scale[b];
    const z = zp[b];
    // q - z is a small integer, exact in fp32: one rounding, of the product
    for (let q = qmin; q <= qmax; q++) dec[q & 0xff] = Math.fround((q - z) * sc);
    used.fill(0);
    if (sc === 0) {
      // all-zero block: coremltools computes 0/0; store the zero point so the block decodes to 0
      data.fill(z, s, s + len);
      used[z & 0xff] = 1;
      statsRun(fl, s, len, dec, data, st);
      st.zeros += len;
    } else codesF32(fl, s, len, sc, z, qmin, qmax, data, dec, used, st);
    for (let q = qmin; q <= qmax; q++) {
      if (!used[q & 0xff]) continue;
      const v = dec[q & 0xff];
      distinct.add(v === 0 ? 0 : v);
    }
  });
  st.distinct = distinct.size;
  return st;
}

// The per-element loops below run over a run of elements (a whole tensor when per_tensor) in pieces of CHUNK
// elements, one call each (pieces.ts); minima, maxima and sums carry across pieces in element order.

/** [min, max] carried across the pieces of minMaxRuns. */
const MINMAX = new Float64Array(2);

/** acc[0] = min(acc[0], w), acc[1] = max(acc[1], w) over elements [s, s + len) (fp16 bits, else fl). */
function minMaxRuns(bits: Uint16Array | null, fl: Float32Array | null, s: number, len: number, acc: Float64Array): void {
  const end = s + len;
  for (let a = s; a < end; a += CHUNK) {
    const e = end - a > CHUNK ? a + CHUNK : end;
    if (bits) minMaxF16(bits, a, e, acc);
    else minMaxF32(fl!, a, e, acc);
  }
}

function minMaxF16(bits: Uint16Array, a: number, e: number, acc: Float64Array): void {
  const tab = F16_TABLE;
  let lo = acc[0];
  let hi = acc[1];
  for (let i = a; i < e; i++) {
    const v = tab[bits[i]];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  acc[0] = lo;
  acc[1] = hi;
}

function minMaxF32(fl: Float32Array, a: number, e: number, acc: Float64Array): void {
  let lo = acc[0];
  let hi = acc[1];
  for (let i = a; i < e; i++) {
    const v = fl[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  acc[0] = lo;
  acc[1] = hi;
}

function maxBitsF16(bits: Uint16Array, s: number, len: number, b: number, posMax: Int32Array, negMax: Int32Array): void {
  const end = s + len;
  for (let a = s; a < end; a += CHUNK) maxBitsPiece(bits, a, end - a > CHUNK ? a + CHUNK : end, b, posMax, negMax);
}

function maxBitsPiece(bits: Uint16Array, a: number, e: number, b: number, posMax: Int32Array, negMax: Int32Array): void {
  let pm = posMax[b];
  let nm = negMax[b];
  for (let i = a; i < e; i++) {
    const h = bits[i];
    const neg = h >> 15; // 0 | 1
    const m = h & 0x7fff;
    // branch-free (signs are random: a branch would mispredict half the time)
    nm = Math.max(nm, m * neg - 1 + neg);
    pm = Math.max(pm, m - neg * (m + 1));
  }
  posMax[b] = pm;
  negMax[b] = nm;
}

/** [se, sig, mx, zeros] of one run, carried across the pieces of codesF32. */
const CODE_ACC = new Float64Array(4);

function codesF32(
  fl: Float32Array,
  s: number,
  len: number,
  sc: number,
  z: number,
  qmin: number,
  qmax: number,
  out: Int8Array | Uint8Array,
  dec: Float64Array,
  used: Uint8Array,
  st: ErrStats,
): void {
  const acc = CODE_ACC;
  acc[0] = 0;
  acc[1] = 0;
  acc[2] = st.mx;
  acc[3] = 0;
  const end = s + len;
  for (let a = s; a < end; a += CHUNK) codesF32Piece(fl, a, end - a > CHUNK ? a + CHUNK : end, sc, z, qmin, qmax, out, dec, used, acc);
  st.se += acc[0];
  st.sig += acc[1];
  st.mx = acc[2];
  st.zeros += acc[3];
}

function codesF32Piece(
  fl: Float32Array,
  s: number,
  end: number,
  sc: number,
  z: number,
  qmin: number,
  qmax: number,
  out: Int8Array | Uint8Array,
  dec: Float64Array,
  used: Uint8Array,
  acc: Float64Array,
): void {
  const inv = 1 / sc;
  let se = acc[0];
  let sig = acc[1];
  let mx = acc[2];
  let zeros = acc[3];
  for (let i = s; i < end; i++) {
    const w = fl[i];
    const x = w * inv;
    let q = Math.floor(x + 0.5);
    if (Math.abs(x - q) >= 0.5 - (Math.abs(x) * 1.2e-7 + 1e-12)) q = rheLocal(Math.fround(w / sc));
    q += z;
    q = q < qmin ? qmin : q > qmax ? qmax : q;
    out[i] = q;
    const k = q & 0xff;
    used[k] = 1;
    zeros += q === z ? 1 : 0;
    const e = w - dec[k];
    se += e * e;
    sig += w * w;
    const a = Math.abs(e);
    if (a > mx) mx = a;
  }
  acc[0] = se;
  acc[1] = sig;
  acc[2] = mx;
  acc[3] = zeros;
}

function statsRun(fl: Float32Array, s: number, len: number, dec: Float64Array, codes: Int8Array | Uint8Array, st: ErrStats): void {
  const end = s + len;
  for (let a = s; a < end; a += CHUNK) statsPiece(fl, a, end - a > CHUNK ? a + CHUNK : end, dec, codes, st);
}

function statsPiece(fl: Float32Array, s: number, end: number, dec: Float64Array, codes: Int8Array | Uint8Array, st: ErrStats): void {
  for (let i = s; i < end; i++) {
    const w = fl[i];
    const e = w - dec[codes[i] & 0xff];
    st.se += e * e;
    st.sig += w * w;
    if (Math.abs(e) > st.mx) st.mx = Math.abs(e);
  }
}

function rheLocal(x: number): number {
  const r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
