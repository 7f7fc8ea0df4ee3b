/**
 * fp16 linear quantization by tables. The code of an element is clip(sign(w) · m(|w|) + z, qmin, qmax) with
 * m(a) = rhe(fp16(a / scale)): m is monotonic in |w| and fp16 magnitudes order like their bit patterns, so per
 * scale m is settled by exact thresholds on the magnitude's bit pattern (symThresholds), and the code is looked
 * up in a byte table indexed by the whole fp16 pattern. Runs are processed grouped by scale (and zero point),
 * so thresholds, decode table and code table are built once per distinct scale (a 4096×4096 gaussian weight
 * has a few hundred distinct per-row scales, not 4096). Signed symmetric codes (int8 / int4
 * linear_symmetric, zero point 0), the common case, have their own entry (quantizeSymF16: max |w| pass and
 * scales here too); every other mode and dtype comes with scales and zero points (codesF16General).
 * The error statistics are fused in, with two accumulators per sum (two elements per step, read as one
 * 32-bit word): the sums of squares are not in element order, so they can differ from a sequential sum in
 * the last bits (they are more accurate, not less); max |err|, zeros and distinct values are exact.
 */
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import type { ErrStats } from '../hints';
import { CHUNK } from '../../tensor/pieces';
import { scratchInt8 } from '../../io/scratch';

/**
 * Max |w| bit pattern per block (into mm, initialised to -1) over the runs (start r · runLen, length runLen,
 * block blocks[r]): fp16 magnitudes order like their bit patterns; two elements per 32-bit read.
 */
export function maxAbsRunsF16(bits: Uint16Array, runLen: number, blocks: Int32Array, mm: Int32Array): void {
  if (runLen < 64) {
    maxAbsShortRuns(bits, runLen, blocks, mm);
    return;
  }
  const base = bits.byteOffset >> 1;
  const u32 = new Uint32Array(bits.buffer, 0, bits.buffer.byteLength >> 2);
  for (let r = 0; r < blocks.length; r++) {
    let i = r * runLen;
    let end = i + runLen;
    let m = mm[blocks[r]];
    if (((base + i) & 1) === 1 && i < end) m = Math.max(m, bits[i++] & 0x7fff);
    if (((base + end) & 1) === 1 && i < end) m = Math.max(m, bits[--end] & 0x7fff);
    mm[blocks[r]] = Math.max(m, maxAbsPieces(u32, (base + i) >> 1, (end - i) >> 1));
  }
}

/** maxAbsRunsF16 for short runs (small blocks): no call per run, one per piece of about CHUNK elements. */
function maxAbsShortRuns(bits: Uint16Array, runLen: number, blocks: Int32Array, mm: Int32Array): void {
  const R = Math.max(1, Math.floor(CHUNK / Math.max(1, runLen))); // runs per piece
  const nr = blocks.length;
  for (let r = 0; r < nr; r += R) maxAbsShortPiece(bits, runLen, blocks, mm, r, nr - r > R ? r + R : nr);
}

function maxAbsShortPiece(bits: Uint16Array, runLen: number, blocks: Int32Array, mm: Int32Array, r0: number, r1: number): void {
  let i = r0 * runLen;
  for (let r = r0; r < r1; r++) {
    let m = mm[blocks[r]];
    for (const end = i + runLen; i < end; i++) {
      const a = bits[i] & 0x7fff;
      if (a > m) m = a;
    }
    mm[blocks[r]] = m;
  }
}

/** maxAbsPairs in pieces of CHUNK elements, one call each (pieces.ts). */
function maxAbsPieces(u32: Uint32Array, p: number, n: number): number {
  const P = CHUNK >> 1;
  if (n <= P) return maxAbsPairs(u32, p, n);
  let m = 0;
  for (const end = p + n; p < end; p += P) m = Math.max(m, maxAbsPairs(u32, p, end - p > P ? P : end - p));
  return m;
}

function maxAbsPairs(u32: Uint32Array, p: number, n: number): number {
  let m0 = 0;
  let m1 = 0;
  const end = p + n;
  for (; p < end; p++) {
    const v = u32[p];
    const a = v & 0x7fff;
    const b = (v >>> 16) & 0x7fff;
    if (a > m0) m0 = a; // rarely true after the first elements: predictable
    if (b > m1) m1 = b;
  }
  return m0 > m1 ? m0 : m1;
}

/** Per k (1..255): the midpoint M below Y and whether M itself rounds to Y (see symThresholds). */
const SYM_MID = new Float64Array(256);
const SYM_INCL = new Uint8Array(256);
for (let k = 1; k < 256; k++) {
  const u = f32ToF16(k - 0.5); // exact
  const yb = k % 2 === 0 ? u : u + 1; // fp16 pattern of Y (positive: the next pattern is the next value)
  SYM_MID[k] = (F16_TABLE[yb] + F16_TABLE[yb - 1]) / 2;
  SYM_INCL[k] = (yb & 1) === 0 ? 1 : 0; // at the midpoint, the tie goes to Y when Y is even
}

const f32 = new Float32Array(1);
const u32v = new Uint32Array(f32.buffer);

// Work tables at module level (one set per worker: the kernels never run re-entrantly). The element loop gets
// them as closure constants (symPairs).
const TAB = F16_TABLE;
const TH = new Int32Array(258);
/** Code byte (q & 0xff) per fp16 pattern (valid up to the current group's max |w|). */
const CT = new Uint8Array(65536);
/** Decoded value and its fp16 pattern per code (index q & 0xff). */
const DEC = new Float64Array(256);
const DEC16 = new Uint16Array(256);
/** How many elements of the current group have each code (index q & 0xff): codes used, zeros. */
const USED = new Int32Array(256);
/** se0, se1, sig0, sig1, max |e|, zeros. */
const ACC = new Float64Array(6);

/**
 * Per-scale thresholds of the symmetric fp16 code c(a) = min(qmax, rhe(fp16(|w| / scale))) over the magnitude
 * bit pattern a: th[k] (k = 1..qmax) is the smallest pattern with c(a) ≥ k (c is monotonic in |w|, and fp16
 * magnitudes order like their bit patterns); th[0] = 0, th[qmax + 1] = 0x8000 (never reached).
 * c ≥ k ⇔ y = fp16(|w| / scale) ≥ Y, with Y = k - 0.5 for even k (the tie rounds to k) and the next fp16 above
 * k - 0.5 for odd k. Rounding through float32 is innocuous for a quotient of two fp16 values (24 ≥ 2·11 + 2
 * bits), so y ≥ Y ⇔ the exact quotient passes M, the midpoint between Y and the fp16 below it (at M itself the
 * tie goes to Y when Y's last mantissa bit is even) ⇔ |w| passes P = M · scale, which is exact in float64
 * (12-bit by 11-bit significands): one comparison on the fp16 grid, no division.
 * P has at most 23 significant bits, so it is also exact in float32: when it lies in fp16's normal range the
 * smallest pattern above it is read off its float32 bits (truncate to 10 mantissa bits, +1 unless P is itself
 * an fp16 value that the tie rule includes); elsewhere (subnormal, overflow) the pattern is searched.
 */
export const symThresholds = ((mid: Float64Array, incl: Uint8Array, f32: Float32Array, u32v: Uint32Array) =>
  // tables as closure constants, as in symPairs
  function symThresholds(sc: number, qmax: number, th: Int32Array): void {
    th[0] = 0;
    th[qmax + 1] = 0x8000;
    for (let k = 1; k <= qmax; k++) {
      const P = mid[k] * sc;
      f32[0] = P;
      const x = u32v[0];
      const e = (x >>> 23) - 112; // fp16 biased exponent (P > 0)
      if (e >= 1 && e <= 30) {
        const t = (e << 10) | ((x >>> 13) & 0x3ff);
        th[k] = (x & 0x1fff) !== 0 || incl[k] === 0 ? t + 1 : t;
      } else th[k] = thresholdSearch(P, incl[k] === 1);
    }
  })(SYM_MID, SYM_INCL, f32, u32v);

/** The smallest magnitude pattern p with tab[p] > P (≥ P when incl), 0x7c00 when none is finite. */
export function thresholdSearch(P: number, incl: boolean): number {
  const tab = F16_TABLE;
  let p = f32ToF16(P) & 0x7fff;
  if (p >= 0x7c00) p = 0x7c00;
  // p is within one pattern of the answer
  while (p < 0x7c00 && (tab[p] < P || (tab[p] === P && !incl))) p++;
  while (p > 0 && (tab[p - 1] > P || (tab[p - 1] === P && incl))) p--;
  return p;
}

/** fp16 pattern of v, a float32-exact product (k · scale, |k| ≤ 255), round half to even. */
function decPatternSigned(v: number): number {
  f32[0] = v;
  const x = u32v[0];
  const e = ((x >>> 23) & 0xff) - 112;
  if (e < 1 || e > 30) return f32ToF16(v);
  const h = ((x & 0x7fffffff) >>> 13) - (112 << 10);
  const rest = x & 0x1fff;
  return ((x >>> 16) & 0x8000) | (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h);
}

/** fp16 pattern of q · sc for q ≥ 1 (exact in float32: ≤ 8 + 11 significant bits), round half to even. */
function decPattern(q: number, sc: number): number {
  const v = q * sc;
  f32[0] = v;
  const x = u32v[0];
  const e = (x >>> 23) - 112;
  if (e < 1 || e > 30) return f32ToF16(v);
  const h = (x >>> 13) - (112 << 10);
  const rest = x & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h; // a carry moves into the exponent
}

export interface SymResult {
  data: Int8Array;
  scale: Float32Array;
  st: ErrStats;
}

/**
 * Symmetric signed quantization of fp16 runs (start r · runLen, length runLen, block blocks[r]; nb blocks):
 * max |w| per block, scales as coremltools computes them (fp16 arithmetic), codes and fused statistics. Null
 * when a block holds inf or NaN. The loops live in small functions, each optimised by V8 on its own (a big
 * caller inlining them all took longer to compile than to run).
 */
export function quantizeSymF16(bits: Uint16Array, runLen: number, blocks: Int32Array, nb: number, qmax: number): SymResult | null {
  const mm = new Int32Array(nb).fill(-1);
  maxAbsRunsF16(bits, runLen, blocks, mm);
  const scale = new Float32Array(nb);
  const key = new Int32Array(nb);
  if (!symScales(mm, qmax, scale, key)) return null;
  const data = scratchInt8(blocks.length * runLen); // every code is written below (each run once)
  const st: ErrStats = { se: 0, sig: 0, mx: 0, zeros: 0, distinct: 0 };
  const seen16 = new Uint8Array(65536);
  const order = runsByKey(blocks, key, null);
  const base = bits.byteOffset >> 1;
  const u32 = new Uint32Array(bits.buffer, 0, bits.buffer.byteLength >> 2);
  ACC.fill(0);
  CT.fill(0);
  let nz = 0x8000; // CT holds nonzero codes only at magnitude patterns ≥ nz (below: 0)
  let distinct = 0;
  const nr = order.length;
  for (let j = 0; j < nr; ) {
    const k = key[blocks[order[j]]];
    let g = j;
    let gmax = 0;
    for (; g < nr && key[blocks[order[g]]] === k; g++) gmax = Math.max(gmax, mm[blocks[order[g]]]);
    nz = groupTables(scale[blocks[order[j]]], qmax, gmax, nz);
    USED.fill(0);
    for (let t = j; t < g; t++) symLoop(u32, bits, base, order[t] * runLen, runLen, data);
    if (DEC[0] === 0) ACC[5] += USED[0]; // zeros are decoded zeros: none when code 0 decodes to NaN (inf scale)
    distinct += markSeen(-qmax, qmax, seen16);
    j = g;
  }
  st.se = ACC[0] + ACC[1];
  st.sig = ACC[2] + ACC[3];
  st.mx = ACC[4];
  st.zeros = ACC[5];
  st.distinct = distinct;
  return { data, scale, st };
}

/**
 * Codes of fp16 runs for any mode, given per-block scales and zero points (as quantizeGrid computes them):
 * code = clip(sign(w) · m(|w|) + z, qmin, qmax) with m(a) = rhe(fp16(a / scale)), the magnitude code of the
 * symmetric path (odd-symmetric rounding), so the same thresholds and per-(scale, zero point) code tables
 * apply. amax: max |w| pattern per block. Codes go to out as bytes (an Int8Array view of the output).
 */
export function codesF16General(
  bits: Uint16Array,
  runLen: number,
  blocks: Int32Array,
  scale: Float32Array,
  zp: Float64Array,
  amax: Int32Array,
  qmin: number,
  qmax: number,
  out: Int8Array,
): ErrStats {
  const nb = scale.length;
  const key = new Int32Array(nb);
  const zkey = new Int32Array(nb);
  for (let b = 0; b < nb; b++) {
    key[b] = f32ToF16(scale[b]) & 0x7fff; // scales are ≥ 0
    zkey[b] = zp[b] - qmin;
  }
  const order = runsByKey(blocks, key, runsByKey(blocks, zkey, null));
  const base = bits.byteOffset >> 1;
  const u32 = new Uint32Array(bits.buffer, 0, bits.buffer.byteLength >> 2);
  const seen16 = new Uint8Array(65536);
  ACC.fill(0);
  let distinct = 0;
  const nr = order.length;
  for (let j = 0; j < nr; ) {
    const b0 = blocks[order[j]];
    let g = j;
    let gmax = 0;
    for (; g < nr && key[blocks[order[g]]] === key[b0] && zkey[blocks[order[g]]] === zkey[b0]; g++) gmax = Math.max(gmax, amax[blocks[order[g]]]);
    const z = zp[b0];
    generalTables(scale[b0], z, qmin, qmax, gmax);
    USED.fill(0);
    for (let t = j; t < g; t++) symLoop(u32, bits, base, order[t] * runLen, runLen, out);
    if (DEC[z & 0xff] === 0) ACC[5] += USED[z & 0xff]; // as above: the zero point decodes to NaN at an inf scale
    distinct += markSeen(qmin, qmax, seen16);
    j = g;
  }
  return { se: ACC[0] + ACC[1], sig: ACC[2] + ACC[3], mx: ACC[4], zeros: ACC[5], distinct };
}

/** Code table up to gmax (both signs) and decode table of one (scale, zero point). */
function generalTables(sc: number, z: number, qmin: number, qmax: number, gmax: number): void {
  const th = TH;
  const ct = CT;
  const tab = F16_TABLE;
  const zb = z & 0xff;
  // decoded values fp16((q - z) · scale); a zero scale decodes everything to 0 · 0 = 0
  for (let q = qmin; q <= qmax; q++) {
    const h = q === z ? f32ToF16(0 * sc) : decPatternSigned((q - z) * sc);
    DEC16[q & 0xff] = (h & 0x7fff) === 0 ? 0 : h;
    DEC[q & 0xff] = tab[h];
  }
  if (sc === 0) {
    // coremltools computes w / 0 and stores the zero point: every code z
    ct.fill(zb, 0, gmax + 1);
    ct.fill(zb, 0x8000, 0x8000 + gmax + 1);
    return;
  }
  const K = Math.min(255, Math.max(qmax - z, z - qmin)); // beyond K both signs clip
  symThresholds(sc, K, th);
  const lo = Math.min(th[1], gmax + 1);
  ct.fill(zb, 0, lo);
  ct.fill(zb, 0x8000, 0x8000 + lo);
  for (let k = 1; k <= K && th[k] <= gmax; k++) {
    const hi = Math.min(th[k + 1], gmax + 1);
    ct.fill(Math.min(qmax, z + k) & 0xff, th[k], hi);
    ct.fill(Math.max(qmin, z - k) & 0xff, 0x8000 + th[k], 0x8000 + hi);
  }
}

/**
 * scale = fp16(fp16(2 · max|w|) / (2 · qmax)) per block (coremltools: range = vmax - vmin with vmin = -vmax, in
 * the weight dtype), its fp16 pattern in key. False when a block's max |w| is inf or NaN.
 */
function symScales(mm: Int32Array, qmax: number, scale: Float32Array, key: Int32Array): boolean {
  const tab = F16_TABLE;
  const memo = new Int32Array(0x7c00).fill(-1); // scale pattern per max |w| pattern (small blocks repeat them)
  for (let b = 0; b < mm.length; b++) {
    const a = mm[b];
    if (a < 0 || a >= 0x7c00) return false;
    let h = memo[a];
    if (h < 0) h = memo[a] = f32ToF16(tab[f32ToF16(2 * tab[a])] / (2 * qmax));
    scale[b] = tab[h];
    key[b] = h;
  }
  return true;
}

/**
 * Run indices ordered by their block's key (a counting sort over the keys' range), stable: runs of one key keep
 * the order of `prior` (or their own order when null), so sorting by a second key first sorts by both.
 */
function runsByKey(blocks: Int32Array, key: Int32Array, prior: Int32Array | null): Int32Array {
  const nr = blocks.length;
  let lo = 0x7fffffff;
  let hi = -1;
  for (let b = 0; b < key.length; b++) {
    lo = Math.min(lo, key[b]);
    hi = Math.max(hi, key[b]);
  }
  const cnt = new Int32Array(hi - lo + 2);
  for (let r = 0; r < nr; r++) cnt[key[blocks[r]] - lo + 1]++;
  for (let k = 1; k < cnt.length; k++) cnt[k] += cnt[k - 1];
  const order = new Int32Array(nr);
  for (let t = 0; t < nr; t++) {
    const r = prior ? prior[t] : t;
    order[cnt[key[blocks[r]] - lo]++] = r;
  }
  return order;
}

/**
 * Tables of one scale: thresholds, signed codes per pattern up to gmax (CT: zeros below th[1], written only
 * where an earlier group left nonzero codes, i.e. from nz on; then k per threshold range), decode values.
 * Returns the new nz. Small functions called per group, so that V8 optimises them early.
 */
function groupTables(sc: number, qmax: number, gmax: number, nz: number): number {
  const th = TH;
  const ct = CT;
  if (sc === 0) {
    // coremltools computes 0/0 (or w/0) and stores the zero point: every code 0, decoded 0, error w
    if (nz <= gmax) {
      ct.fill(0, nz, gmax + 1);
      ct.fill(0, 0x8000 + nz, 0x8000 + gmax + 1);
    }
    DEC[0] = 0;
    DEC16[0] = 0;
    return Math.max(nz, gmax + 1);
  }
  symThresholds(sc, qmax, th);
  const lo = Math.min(th[1], gmax + 1);
  if (nz < lo) {
    ct.fill(0, nz, lo);
    ct.fill(0, 0x8000 + nz, 0x8000 + lo);
  }
  for (let k = 1; k <= qmax && th[k] <= gmax; k++) {
    const hi = Math.min(th[k + 1], gmax + 1);
    ct.fill(k, th[k], hi);
    ct.fill(-k & 0xff, 0x8000 + th[k], 0x8000 + hi);
  }
  decTable(sc, qmax);
  return lo;
}

/** Decode table, odd-symmetric (fp16 rounding is); code 0 as computed (0 · inf is NaN, as in numpy). */
const decTable = ((tab: Float32Array, dec: Float64Array, dec16: Uint16Array) =>
  function decTable(sc: number, qmax: number): void {
    const h0 = f32ToF16(0 * sc);
    dec16[0] = (h0 & 0x7fff) === 0 ? 0 : h0;
    dec[0] = tab[h0];
    for (let q = 1; q <= qmax; q++) {
      const h = decPattern(q, sc);
      const hz = (h & 0x7fff) === 0 ? 0 : h;
      dec16[q] = hz;
      dec[q] = tab[h];
      dec16[-q & 0xff] = hz === 0 ? 0 : hz ^ 0x8000;
      dec[-q & 0xff] = -tab[h];
    }
  })(F16_TABLE, DEC, DEC16);

/** Marks the decoded values of the codes used by the group by fp16 pattern; returns how many were new. */
function markSeen(qmin: number, qmax: number, seen16: Uint8Array): number {
  let added = 0;
  for (let q = qmin; q <= qmax; q++) {
    const h = DEC16[q & 0xff];
    if (USED[q & 0xff] !== 0 && seen16[h] === 0) {
      seen16[h] = 1;
      added++;
    }
  }
  return added;
}


/** One run: the odd first and last elements one by one, the rest in pairs (symPairs). */
function symLoop(u32: Uint32Array, bits: Uint16Array, base: number, s: number, len: number, out: Int8Array): void {
  let i = s;
  let end = s + len;
  if (((base + i) & 1) === 1 && i < end) symOne(bits[i], i++, out);
  if (((base + end) & 1) === 1 && i < end) symOne(bits[--end], end, out);
  // pairs in pieces of CHUNK elements, one call each (pieces.ts); the accumulators carry across pieces
  const P = CHUNK >> 1;
  for (let p = (base + i) >> 1, np = (end - i) >> 1; np > 0; p += P, i += CHUNK, np -= P) symPairs(u32, p, np > P ? P : np, i, out);
}

function symOne(h: number, i: number, out: Int8Array): void {
  const acc = ACC;
  const k = CT[h];
  out[i] = k;
  USED[k]++;
  const w = TAB[h];
  const e = w - DEC[k];
  acc[0] += e * e;
  acc[2] += w * w;
  const a = Math.abs(e);
  if (a > acc[4]) acc[4] = a;
}

/**
 * n pairs of elements from 32-bit word p on, codes to out[o..]: two accumulators per sum (the additions of
 * one element do not wait for the previous one's), max |err| by a predictable branch, a histogram of codes
 * (codes used, and the zero point's count: the zeros). Kept small, without the odd ends. The tables come in
 * as parameters of an enclosing closure, called once: V8 then compiles them as constants (no map checks or
 * field reloads per element). Module-level constants would do as well unbundled, but bundlers (esbuild)
 * turn top-level const into var, which V8 reloads and checks on every access: ~30% slower.
 */
const symPairs = ((tab: Float32Array, ct: Uint8Array, dec: Float64Array, used: Int32Array, acc: Float64Array) =>
  function symPairs(u32: Uint32Array, p: number, n: number, o: number, out: Int8Array): void {
    let se0 = acc[0];
    let se1 = acc[1];
    let sig0 = acc[2];
    let sig1 = acc[3];
    let mx = acc[4];
    const pEnd = p + n;
    for (let i = o; p < pEnd; i += 2, p++) {
      const v = u32[p];
      const h0 = v & 0xffff;
      const h1 = v >>> 16;
      const k0 = ct[h0];
      const k1 = ct[h1];
      out[i] = k0; // stored as int8: the byte wraps to the signed code
      out[i + 1] = k1;
      used[k0]++;
      used[k1]++;
      const w0 = tab[h0];
      const w1 = tab[h1];
      const e0 = w0 - dec[k0];
      const e1 = w1 - dec[k1];
      se0 += e0 * e0;
      se1 += e1 * e1;
      sig0 += w0 * w0;
      sig1 += w1 * w1;
      const a0 = Math.abs(e0);
      const a1 = Math.abs(e1);
      if (a0 > mx) mx = a0;
      if (a1 > mx) mx = a1;
    }
    acc[0] = se0;
    acc[1] = se1;
    acc[2] = sig0;
    acc[3] = sig1;
    acc[4] = mx;
  })(TAB, CT, DEC, USED, ACC);
