/**
 * Symmetric signed fp16 quantization (int8 / int4 linear_symmetric: zero point 0, codes -qmax..qmax), the hot
 * path of per-channel quantization. The code of an element is c = sign · min(qmax, rhe(fp16(|w| / scale))),
 * monotonic in |w|, so per scale it is settled by qmax exact thresholds on the magnitude's bit pattern
 * (symThresholds) and then looked up in a signed byte table indexed by the whole fp16 pattern. Runs are
 * processed grouped by scale, so thresholds, decode table and code table are built once per distinct scale
 * (a 4096×4096 gaussian weight has a few hundred distinct per-row scales, not 4096).
 * The error statistics are fused in, with two accumulators per sum (two elements per step, read as one
 * 32-bit word): the sums of squares are not in element order, so they can differ from a sequential sum in
 * the last bits (they are more accurate, not less); max |err|, zeros and distinct values are exact.
 */
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import type { ErrStats } from '../hints';

/** Symmetric fp16 runs of at least this many elements take the grouped table path. */
export const SYM_MIN = 512;

/**
 * Max |w| bit pattern per block (into mm, initialised to -1) over the runs (start r · runLen, length runLen,
 * block blocks[r]): fp16 magnitudes order like their bit patterns; two elements per 32-bit read.
 */
export function maxAbsRunsF16(bits: Uint16Array, runLen: number, blocks: Int32Array, mm: Int32Array): void {
  const base = bits.byteOffset >> 1;
  const u32 = new Uint32Array(bits.buffer, 0, bits.buffer.byteLength >> 2);
  for (let r = 0; r < blocks.length; r++) {
    let i = r * runLen;
    let end = i + runLen;
    let m = mm[blocks[r]];
    if (((base + i) & 1) === 1 && i < end) m = Math.max(m, bits[i++] & 0x7fff);
    if (((base + end) & 1) === 1 && i < end) m = Math.max(m, bits[--end] & 0x7fff);
    mm[blocks[r]] = Math.max(m, maxAbsPairs(u32, (base + i) >> 1, (end - i) >> 1));
  }
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
export function symThresholds(sc: number, qmax: number, th: Int32Array): void {
  th[0] = 0;
  th[qmax + 1] = 0x8000;
  const mid = SYM_MID;
  for (let k = 1; k <= qmax; k++) {
    const P = mid[k] * sc;
    f32[0] = P;
    const x = u32v[0];
    const e = (x >>> 23) - 112; // fp16 biased exponent (P > 0)
    if (e >= 1 && e <= 30) {
      const t = (e << 10) | ((x >>> 13) & 0x3ff);
      th[k] = (x & 0x1fff) !== 0 || SYM_INCL[k] === 0 ? t + 1 : t;
    } else th[k] = thresholdSearch(P, SYM_INCL[k] === 1);
  }
}

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

/**
 * Codes for the runs (start r · runLen, length runLen, block blocks[r]) listed in `runs`, all with nonzero
 * scales; adds their statistics to st and marks their decoded values in seen16 (fp16 patterns, ±0 as one).
 */
export function symRunsF16(
  bits: Uint16Array,
  runs: Int32Array,
  runLen: number,
  blocks: Int32Array,
  scale: Float32Array,
  amax: Int32Array,
  qmax: number,
  out: Int8Array,
  st: ErrStats,
  seen16: Uint8Array,
): void {
  const nr = runs.length;
  if (nr === 0) return;
  // order runs by scale (an fp16 value: its pattern orders it); key · 2^32 + run index sorts exactly
  const keys = new Float64Array(nr);
  for (let j = 0; j < nr; j++) {
    const r = runs[j];
    keys[j] = f32ToF16(scale[blocks[r]]) * 4294967296 + r;
  }
  keys.sort();
  const base = bits.byteOffset >> 1;
  const u32 = new Uint32Array(bits.buffer, 0, bits.buffer.byteLength >> 2);
  const tab = F16_TABLE;
  const th = TH;
  const ct = CT;
  const dec = DEC;
  const dec16 = DEC16;
  const used = USED;
  const acc = ACC;
  acc.fill(0);
  acc[4] = st.mx;
  ct.fill(0);
  let nz = 0x8000; // ct holds nonzero codes only at magnitude patterns ≥ nz (below: 0)
  let j = 0;
  while (j < nr) {
    const key = Math.floor(keys[j] / 4294967296);
    let g = j;
    let gmax = 0;
    while (g < nr && Math.floor(keys[g] / 4294967296) === key) {
      const a = amax[blocks[keys[g] % 4294967296 | 0]];
      if (a > gmax) gmax = a;
      g++;
    }
    const sc = scale[blocks[keys[j] % 4294967296 | 0]];
    symThresholds(sc, qmax, th);
    // code table up to gmax: zeros below th[1] (only where an earlier group left nonzero codes), then k per range
    const lo = Math.min(th[1], gmax + 1);
    if (nz < lo) {
      ct.fill(0, nz, lo);
      ct.fill(0, 0x8000 + nz, 0x8000 + lo);
    }
    nz = lo;
    for (let k = 1; k <= qmax && th[k] <= gmax; k++) {
      const hi = Math.min(th[k + 1], gmax + 1);
      ct.fill(k, th[k], hi);
      ct.fill(-k, 0x8000 + th[k], 0x8000 + hi);
    }
    // decode table, odd-symmetric (fp16 rounding is); code 0 as computed (0 · inf is NaN, as in numpy)
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
    used.fill(0);
    for (let t = j; t < g; t++) {
      const r = keys[t] % 4294967296 | 0; // small integers (a float index would slow the loop down)
      symLoop(u32, bits, base, r * runLen, runLen, out);
    }
    for (let q = -qmax; q <= qmax; q++) seen16[dec16[q & 0xff]] |= used[q & 0xff];
    j = g;
  }
  st.se += acc[0] + acc[1];
  st.sig += acc[2] + acc[3];
  st.mx = acc[4];
  st.zeros += acc[5];
}

// Work tables at module level: V8 compiles accesses to them with constant bases and lengths, noticeably faster
// in the element loop than arrays passed as arguments.
const TH = new Int32Array(258);
/** Signed code per fp16 pattern (valid up to the current group's max |w|). */
const CT = new Int8Array(65536);
/** Decoded value and its fp16 pattern per code (index q & 0xff). */
const DEC = new Float64Array(256);
const DEC16 = new Uint16Array(256);
/** Codes used in the current group (index q & 0xff). */
const USED = new Uint8Array(256);
/** se0, se1, sig0, sig1, max |e|, zeros. */
const ACC = new Float64Array(6);

/** One run: the odd first and last elements one by one, the rest in pairs (symPairs). */
function symLoop(u32: Uint32Array, bits: Uint16Array, base: number, s: number, len: number, out: Int8Array): void {
  let i = s;
  let end = s + len;
  if (((base + i) & 1) === 1 && i < end) symOne(bits[i], i++, out);
  if (((base + end) & 1) === 1 && i < end) symOne(bits[--end], end, out);
  symPairs(u32, (base + i) >> 1, (end - i) >> 1, i, out);
}

function symOne(h: number, i: number, out: Int8Array): void {
  const acc = ACC;
  const q = CT[h];
  out[i] = q;
  USED[q & 0xff] = 1;
  acc[5] += q === 0 ? 1 : 0;
  const w = TAB[h];
  const e = w - DEC[q & 0xff];
  acc[0] += e * e;
  acc[2] += w * w;
  const a = Math.abs(e);
  if (a > acc[4]) acc[4] = a;
}

const TAB = F16_TABLE;

/**
 * n pairs of elements from 32-bit word p on, codes to out[o..]: two accumulators per sum (the additions of
 * one element do not wait for the previous one's), max |err| by a predictable branch, zero codes counted
 * branch-free. Kept small, without the odd ends, and on module-level tables: V8 compiles this loop best so.
 */
function symPairs(u32: Uint32Array, p: number, n: number, o: number, out: Int8Array): void {
  const tab = TAB;
  const ct = CT;
  const dec = DEC;
  const used = USED;
  const acc = ACC;
  let se0 = acc[0];
  let se1 = acc[1];
  let sig0 = acc[2];
  let sig1 = acc[3];
  let mx = acc[4];
  let zeros = 0;
  const pEnd = p + n;
  for (let i = o; p < pEnd; i += 2, p++) {
    const v = u32[p];
    const h0 = v & 0xffff;
    const h1 = v >>> 16;
    const q0 = ct[h0];
    const q1 = ct[h1];
    out[i] = q0;
    out[i + 1] = q1;
    const k0 = q0 & 0xff;
    const k1 = q1 & 0xff;
    used[k0] = 1;
    used[k1] = 1;
    zeros += ((q0 * q0 - 1) >>> 31) + ((q1 * q1 - 1) >>> 31); // 1 for a zero code
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
  acc[5] += zeros;
}
