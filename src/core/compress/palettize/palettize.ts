/**
 * Palettization kernel (coremltools OpPalettizerConfig semantics, formats.md §5.6, §5.12).
 *
 * Scalar k-means is exact: optimal 1-D k-means (kmeans1d.ts) over the weighted histogram of the distinct
 * values of each group (fp16: by bit pattern). LUT entries are the cluster means rounded to the weight dtype;
 * each element then takes the nearest rounded entry (ties → lower index), so the SSE is never worse than
 * coremltools' labels-as-indices. Slots past the number of clusters stay 0, as in coremltools.
 * With enable_per_channel_scale the histogram is weighted by scale², so the optimum is that of the true
 * (rescaled) error rather than of the normalised values.
 */
import { F16_TABLE } from '../../tensor/fp16';
import type { DenseTensor } from '../../model/types';
import type { FloatDtype, LutRepr, OpPalettizerConfig, WeightContext } from '../types';
import { kmeansOptimal } from './kmeans1d';
import { countF16, gatherF16 } from './f16scan';
import { kmeansVectors, uniqueVectors } from './vector';
import { normAxis, numel, r16, rdt, rdtd, splitAxis } from '../numeric';
import { PALETTIZE_NBITS } from './options';
import { setHint, type ErrStats } from '../hints';
import { scratchZeroedU8 } from '../../io/scratch';

export type Skip = { skip: string };

export interface PalettizeOptions {
  /** elements to cluster (joint prune → palettize: the nonzeros); others get index 0 */
  include?: Uint8Array;
  /** nbits that the target allows for unique mode (iOS16: no 3-bit) */
  allowedNbits?: readonly number[];
}

interface Layout {
  outer: number;
  C: number;
  inner: number;
}

export function palettize(
  dense: DenseTensor,
  cfg: OpPalettizerConfig,
  ctx: WeightContext,
  opts: PalettizeOptions = {},
): LutRepr | Skip {
  const shape = dense.shape;
  const rank = shape.length;
  const dtype: FloatDtype = dense.dtype;
  const V = cfg.cluster_dim ?? 1;
  const grouped = cfg.granularity === 'per_grouped_channel';
  const axisRaw = grouped && cfg.channel_axis !== null && cfg.channel_axis !== undefined ? cfg.channel_axis : ctx.outputAxis;
  if (axisRaw < -rank || axisRaw >= rank) return { skip: `channel_axis ${axisRaw} is out of range for a rank-${rank} weight` };
  const ca = normAxis(axisRaw, rank);
  const [outer, C, inner] = splitAxis(shape, ca);
  const gs = grouped ? cfg.group_size : C;
  if (C % gs !== 0) {
    return { skip: `the number of channels at axis ${ca} (${C}) is not divisible by group_size (${gs})` };
  }
  if (gs % V !== 0) {
    return { skip: `the channel group size at axis ${ca} (${gs}) is not divisible by cluster_dim (${V})` };
  }
  const G = C / gs;
  const L: Layout = { outer, C, inner };
  const n = numel(shape);

  // ---- values to cluster (optionally normalised by the per-channel scale) ----
  let bits: Uint16Array | null = dense.dtype === 'fp16' ? (dense.data as Uint16Array) : null;
  let floats: Float32Array | null = dense.dtype === 'fp32' ? (dense.data as Float32Array) : null;
  let pcs: { scale: Float32Array; shape: number[] } | undefined;
  let elemWeight: ((i: number) => number) | null = null;
  if (cfg.enable_per_channel_scale) {
    const scale = new Float32Array(outer * inner);
    const tab = F16_TABLE;
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner;
        for (let r = 0; r < inner; r++) {
          const v = Math.abs(bits ? tab[bits[base + r]] : floats![base + r]);
          if (v > scale[o * inner + r]) scale[o * inner + r] = v;
        }
      }
    for (let i = 0; i < scale.length; i++) if (scale[i] === 0) scale[i] = 1;
    const sshape = shape.slice();
    sshape[ca] = 1;
    pcs = { scale, shape: sshape };
    // w / scale in the weight dtype (numpy in-place division)
    if (bits) {
      const nb = new Uint16Array(n);
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < C; c++) {
          const base = (o * C + c) * inner;
          for (let r = 0; r < inner; r++) nb[base + r] = f16bitsOf(tab[bits[base + r]] / scale[o * inner + r]);
        }
      bits = nb;
    } else {
      const nf = new Float32Array(n);
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < C; c++) {
          const base = (o * C + c) * inner;
          for (let r = 0; r < inner; r++) nf[base + r] = Math.fround(floats![base + r] / scale[o * inner + r]);
        }
      floats = nf;
    }
    elemWeight = (i: number) => {
      const o = Math.floor(i / (C * inner));
      const r = i % inner;
      const s = scale[o * inner + r];
      return s * s;
    };
  }

  const include = opts.include;
  if (V > 1) {
    if (include) return { skip: 'joint pruning with vector palettization (cluster_dim > 1) is not supported' };
    return vectorPath(dense, cfg, L, ca, G, gs, V, bits, floats, pcs, opts);
  }

  // ---- scalar path: per group, a weighted histogram of distinct values ----
  const groups: GroupHist[] = [];
  const groupElems = outer * gs * inner;
  // one group = the whole tensor, whatever the channel axis: walk it as one contiguous run
  const GL: Layout = G === 1 ? { outer: 1, C: n, inner: 1 } : L;
  const ggs = G === 1 ? n : gs;
  for (let g = 0; g < G; g++) {
    groups.push(
      bits
        ? groupElems >= 16384
          ? histF16(bits, GL, g, ggs, include, elemWeight)
          : histF16Small(bits, GL, g, ggs, include, elemWeight)
        : histF32(floats!, GL, g, ggs, include, elemWeight),
    );
  }

  let nbits = cfg.nbits ?? 0;
  if (cfg.mode === 'unique') {
    const allowed = opts.allowedNbits ?? PALETTIZE_NBITS;
    let need = 0;
    for (const h of groups) {
      const u = h.xs.length;
      const nb = allowed.find((b) => u <= 1 << b);
      if (nb === undefined) return { skip: `unique mode: a group has ${u} distinct values, more than 2^${allowed[allowed.length - 1]}` };
      if (nb > need) need = nb;
    }
    nbits = need || allowed[0];
  }
  const K = 1 << nbits;
  const lut = new Float32Array(G * K);
  const indices = scratchZeroedU8(n);
  let fused: ErrStats | null = null;
  for (let g = 0; g < G; g++) {
    const h = groups[g];
    let entries: number[];
    if (h.xs.length === 0) entries = [];
    else if (cfg.mode === 'kmeans') {
      const r = kmeansOptimal(h.xs, h.ws, K);
      entries = Array.from(r.centers, (c) => rdtd(dtype, c));
    } else if (cfg.mode === 'uniform') {
      entries = uniformLut(dtype, h.xs[0], h.xs[h.xs.length - 1], nbits);
    } else {
      entries = Array.from(h.xs);
    }
    for (let k = 0; k < entries.length; k++) lut[g * K + k] = entries[k];
    const memo =
      cfg.mode === 'uniform'
        ? assignUniform(dense.dtype, bits, floats, GL, g, ggs, h.xs[0], h.xs[h.xs.length - 1], nbits, indices)
        : assignNearest(bits, floats, GL, g, ggs, entries, indices, !include && !elemWeight ? h.bins : undefined);
    if (G === 1 && bits && h.bins && memo && !pcs && !include) fused = statsFromBins(h.bins, memo, lut);
  }
  if (include) for (let i = 0; i < n; i++) if (!include[i]) indices[i] = 0;
  const lutShape = new Array<number>(rank + 2).fill(1);
  lutShape[ca] = G;
  lutShape[rank] = K;
  lutShape[rank + 1] = 1;
  const repr: LutRepr = {
    kind: 'lut',
    dtype,
    nbits,
    shape: shape.slice(),
    indices,
    indicesShape: shape.slice(),
    lut,
    lutShape,
  };
  if (pcs) repr.perChannelScale = pcs;
  if (fused) setHint(repr, dense, fused);
  return repr;
}

/** Error statistics of a per-tensor fp16 LUT from the histogram and the bin → index map (hints.ts). */
function statsFromBins(bins: Float64Array, memo: Int16Array | Uint8Array, lut: Float32Array): ErrStats {
  const tab = F16_TABLE;
  const st: ErrStats = { se: 0, sig: 0, mx: 0, zeros: 0, distinct: 0 };
  const used = new Float64Array(lut.length);
  for (let h = 0; h < 65536; h++) {
    const c = bins[h];
    if (!c) continue;
    const k = memo[h];
    const w = tab[h];
    const e = w - lut[k];
    st.se += c * e * e;
    st.sig += c * w * w;
    if (Math.abs(e) > st.mx) st.mx = Math.abs(e);
    used[k] += c;
  }
  const vals = new Set<number>();
  for (let k = 0; k < lut.length; k++) if (used[k] > 0) {
    vals.add(lut[k] === 0 ? 0 : lut[k]);
    if (lut[k] === 0) st.zeros += used[k];
  }
  st.distinct = vals.size;
  return st;
}

const f32b = new Float32Array(1);
function f16bitsOf(x: number): number {
  // numpy half division: computed in float32, rounded to half
  f32b[0] = x;
  return f16FromF32(f32b[0]);
}
import { f32ToF16 } from '../../tensor/fp16';
function f16FromF32(x: number): number {
  return f32ToF16(x);
}

interface GroupHist {
  xs: Float64Array;
  ws: Float64Array;
  /** fp16 path: weight per bit pattern */
  bins?: Float64Array;
}

function forGroup(L: Layout, g: number, gs: number, fn: (i: number) => void): void {
  const { outer, C, inner } = L;
  for (let o = 0; o < outer; o++)
    for (let c = g * gs; c < (g + 1) * gs; c++) {
      const base = (o * C + c) * inner;
      for (let r = 0; r < inner; r++) fn(base + r);
    }
}

function histF16(bits: Uint16Array, L: Layout, g: number, gs: number, include?: Uint8Array, ew?: ((i: number) => number) | null): GroupHist {
  const w = new Float64Array(65536);
  if (!include && !ew && L.outer === 1) {
    // fast path: a contiguous run
    countF16(bits, g * gs * L.inner, (g + 1) * gs * L.inner, w);
  } else {
    forGroup(L, g, gs, (i) => {
      if (include && !include[i]) return;
      w[bits[i]] += ew ? ew(i) : 1;
    });
  }
  const { xs, ws } = distinctF16(w);
  return { xs, ws, bins: w };
}

/**
 * The finite values present in a histogram by fp16 pattern, ascending (−0 merged into 0), with their weights, in
 * one pass over the magnitudes: negatives fill a buffer backwards from its middle, positives forwards after the
 * zero slot, so the result is one contiguous run of it (a view). Runs once per weight, so it is kept to one loop.
 */
function distinctF16(w: Float64Array): { xs: Float64Array; ws: Float64Array } {
  const tab = F16_TABLE;
  const Z = 0x7c00; // slot of zero; negatives at Z-1, Z-2, …; positives at Z+1, Z+2, …
  const xs = new Float64Array(2 * Z + 1);
  const ws = new Float64Array(2 * Z + 1);
  let neg = Z;
  let pos = Z + 1;
  for (let m = 1; m <= 0x7bff; m++) {
    const cn = w[m | 0x8000];
    if (cn > 0) {
      neg--;
      xs[neg] = tab[m | 0x8000];
      ws[neg] = cn;
    }
    const cp = w[m];
    if (cp > 0) {
      xs[pos] = tab[m];
      ws[pos] = cp;
      pos++;
    }
  }
  const cz = w[0x8000] + w[0];
  if (cz > 0) {
    ws[Z] = cz; // xs[Z] is 0 already
    return { xs: xs.subarray(neg, pos), ws: ws.subarray(neg, pos) };
  }
  // no zero: close the gap by moving the negatives up one slot
  xs.copyWithin(neg + 1, neg, Z);
  ws.copyWithin(neg + 1, neg, Z);
  return { xs: xs.subarray(neg + 1, pos), ws: ws.subarray(neg + 1, pos) };
}

function histF32(vals: Float32Array, L: Layout, g: number, gs: number, include?: Uint8Array, ew?: ((i: number) => number) | null): GroupHist {
  return histOf((fn) => forGroup(L, g, gs, (i) => {
    if (include && !include[i]) return;
    fn(vals[i], i);
  }), ew);
}

/** fp16 group too small for a 65,536-bin histogram to pay off: sort its values instead. */
function histF16Small(bits: Uint16Array, L: Layout, g: number, gs: number, include?: Uint8Array, ew?: ((i: number) => number) | null): GroupHist {
  const tab = F16_TABLE;
  return histOf((fn) => forGroup(L, g, gs, (i) => {
    if (include && !include[i]) return;
    fn(tab[bits[i]], i);
  }), ew);
}

/** Sorts `v` (in place) and returns its distinct values with their counts. */
export function distinctCounts(v: Float64Array): { xs: Float64Array; ws: Float64Array } {
  v.sort();
  const m = v.length;
  let d = 0;
  for (let i = 0; i < m; i++) if (i === 0 || v[i] !== v[i - 1]) d++;
  const xs = new Float64Array(d);
  const ws = new Float64Array(d);
  let k = -1;
  for (let i = 0; i < m; i++) {
    if (i === 0 || v[i] !== v[i - 1]) xs[++k] = v[i];
    ws[k]++;
  }
  return { xs, ws };
}

/** Distinct sorted values with their (weighted) counts, from a visitor of (value, element index). */
function histOf(visit: (fn: (v: number, i: number) => void) => void, ew?: ((i: number) => number) | null): GroupHist {
  let m = 0;
  visit(() => m++);
  const v = new Float64Array(m);
  let j = 0;
  if (!ew) {
    visit((x) => (v[j++] = x === 0 ? 0 : x));
    return distinctCounts(v);
  }
  const w = new Float64Array(m);
  visit((x, i) => {
    v[j] = x === 0 ? 0 : x;
    w[j++] = ew(i);
  });
  const perm = new Uint32Array(m);
  for (let i = 0; i < m; i++) perm[i] = i;
  perm.sort((a, b) => v[a] - v[b]);
  const xs: number[] = [];
  const ws: number[] = [];
  for (let i = 0; i < m; i++) {
    const x = v[perm[i]];
    if (xs.length && xs[xs.length - 1] === x) ws[ws.length - 1] += w[perm[i]];
    else {
      xs.push(x);
      ws.push(w[perm[i]]);
    }
  }
  return { xs: Float64Array.from(xs), ws: Float64Array.from(ws) };
}

/** coremltools uniform LUT: range = max-min in the weight dtype, lut[i] = dtype(i*range/(2^n-1) + min) in float64. */
function uniformLut(dtype: FloatDtype, mn: number, mx: number, nbits: number): number[] {
  const K = 1 << nbits;
  // golden LUTs show the division by 2^n - 1 is not rounded to the weight dtype (numpy scalar promotion)
  const range = rdt(dtype, mx - mn);
  const scale = range / (K - 1);
  const out: number[] = [];
  for (let i = 0; i < K; i++) out.push(rdtd(dtype, i * scale + mn));
  return out;
}

/** idx = round_half_even(((w - min) / (max - min)) * (2^n - 1)), each step rounded to the weight dtype. */
function assignUniform(
  dtype: FloatDtype,
  bits: Uint16Array | null,
  floats: Float32Array | null,
  L: Layout,
  g: number,
  gs: number,
  mn: number,
  mx: number,
  nbits: number,
  out: Uint8Array,
): Int16Array | null {
  const K1 = (1 << nbits) - 1;
  const rd = dtype === 'fp16' ? r16 : Math.fround;
  const range = rd(mx - mn);
  const tab = F16_TABLE;
  const memo = bits ? new Int16Array(65536).fill(-1) : null;
  forGroup(L, g, gs, (i) => {
    if (bits) {
      const b = bits[i];
      let q = memo![b];
      if (q < 0) {
        q = code(tab[b]);
        memo![b] = q;
      }
      out[i] = q;
    } else out[i] = code(floats![i]);
  });
  return memo;
  function code(w: number): number {
    const t = rd(rd(rd(w - mn) / range) * K1);
    let q = Math.round(t);
    if (q - t === 0.5 && q % 2 !== 0) q -= 1;
    if (!(q >= 0)) q = 0; // range 0 → NaN: coremltools casts NaN; we use 0
    return q > K1 ? K1 : q;
  }
}

/**
 * code[h] = the nearest entry's slot for every pattern h with bins[h] > 0, exactly as assignNearest's `nearest`
 * decides it (entries sorted by value then slot: first entry ≥ x, the closer neighbour, ties → the lower slot).
 * A plain function over typed arrays: it runs once per weight, so it must reach optimised code within one call.
 */
function codeTable(bins: Float64Array, sv: Float64Array, sk: Int32Array, code: Uint8Array): void {
  const tab = F16_TABLE;
  const m = sv.length;
  for (let h = 0; h < 65536; h++) {
    if (!(bins[h] > 0)) continue;
    const x = tab[h];
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sv[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    let q: number;
    if (lo === 0) q = sk[0];
    else if (lo === m) q = sk[m - 1];
    else {
      const dl = x - sv[lo - 1];
      const dh = sv[lo] - x;
      q = dl < dh ? sk[lo - 1] : dh < dl ? sk[lo] : sk[lo - 1] < sk[lo] ? sk[lo - 1] : sk[lo];
    }
    code[h] = q;
  }
}

/** Nearest entry of the (rounded) LUT; ties → lower index. */
function assignNearest(
  bits: Uint16Array | null,
  floats: Float32Array | null,
  L: Layout,
  g: number,
  gs: number,
  entries: number[],
  out: Uint8Array,
  /** the group's histogram by bit pattern over exactly these elements (all of them), if there is one */
  bins?: Float64Array,
): Int16Array | Uint8Array | null {
  const m = entries.length;
  if (m === 0) return null;
  // sort entries with their slots (they are ascending already for kmeans / unique, keep general)
  const order = entries.map((v, k) => [v, k] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const sv = order.map((e) => e[0]);
  const sk = order.map((e) => e[1]);
  const nearest = (x: number): number => {
    // binary search for the first entry >= x
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sv[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return sk[0];
    if (lo === m) return sk[m - 1];
    const dl = x - sv[lo - 1];
    const dh = sv[lo] - x;
    if (dl < dh) return sk[lo - 1];
    if (dh < dl) return sk[lo];
    return Math.min(sk[lo - 1], sk[lo]);
  };
  if (bits) {
    const tab = F16_TABLE;
    if (bins && L.outer === 1) {
      // every bit pattern of the run is in the histogram: decide each once, then a plain gather from a
      // byte table (64 KiB, cache-friendlier than an Int16 memo: ~15% faster)
      const code = new Uint8Array(65536);
      codeTable(bins, Float64Array.from(sv), Int32Array.from(sk), code);
      gatherF16(bits, g * gs * L.inner, (g + 1) * gs * L.inner, code, out);
      return code;
    }
    const memo = new Int16Array(65536).fill(-1);
    if (L.outer === 1) {
      const a = g * gs * L.inner;
      const b = (g + 1) * gs * L.inner;
      for (let i = a; i < b; i++) {
        const h = bits[i];
        let q = memo[h];
        if (q < 0) {
          q = nearest(tab[h]);
          memo[h] = q;
        }
        out[i] = q;
      }
    } else
      forGroup(L, g, gs, (i) => {
        const h = bits[i];
        let q = memo[h];
        if (q < 0) {
          q = nearest(tab[h]);
          memo[h] = q;
        }
        out[i] = q;
      });
    return memo;
  }
  forGroup(L, g, gs, (i) => (out[i] = nearest(floats![i])));
  return null;
}

function vectorPath(
  dense: DenseTensor,
  cfg: OpPalettizerConfig,
  L: Layout,
  ca: number,
  G: number,
  gs: number,
  V: number,
  bits: Uint16Array | null,
  floats: Float32Array | null,
  pcs: { scale: Float32Array; shape: number[] } | undefined,
  opts: PalettizeOptions,
): LutRepr | Skip {
  const shape = dense.shape;
  const rank = shape.length;
  const dtype = dense.dtype;
  const { outer, C, inner } = L;
  const Cv = C / V;
  const gv = gs / V; // vectors per group along the axis
  const indicesShape = shape.slice();
  indicesShape[ca] = Cv;
  const nIdx = numel(indicesShape);
  const tab = F16_TABLE;
  const val = (i: number) => (bits ? tab[bits[i]] : floats![i]);
  // gather each group's vectors: vector (o, cv, r) = elements (o, cv*V+v, r)
  const groupData: { data: Float64Array; weight: Float64Array | null; pos: Int32Array }[] = [];
  for (let g = 0; g < G; g++) {
    const m = outer * gv * inner;
    const data = new Float64Array(m * V);
    const pos = new Int32Array(m);
    const weight = pcs ? new Float64Array(m * V) : null;
    let j = 0;
    for (let o = 0; o < outer; o++)
      for (let cv = g * gv; cv < (g + 1) * gv; cv++)
        for (let r = 0; r < inner; r++) {
          pos[j] = (o * Cv + cv) * inner + r;
          for (let v = 0; v < V; v++) {
            const e = (o * C + cv * V + v) * inner + r;
            data[j * V + v] = val(e);
            if (weight) {
              const s = pcs!.scale[o * inner + r];
              weight[j * V + v] = s * s;
            }
          }
          j++;
        }
    groupData.push({ data, weight, pos });
  }
  let nbits = cfg.nbits ?? 0;
  const uniq = cfg.mode === 'unique' ? groupData.map((gd) => uniqueVectors(gd.data, V)) : null;
  if (uniq) {
    const allowed = opts.allowedNbits ?? PALETTIZE_NBITS;
    let need = 0;
    for (const u of uniq) {
      const c = u.length / V;
      const nb = allowed.find((b) => c <= 1 << b);
      if (nb === undefined) return { skip: `unique mode: a group has ${c} distinct vectors, more than 2^${allowed[allowed.length - 1]}` };
      need = Math.max(need, nb);
    }
    nbits = need || allowed[0];
  }
  const K = 1 << nbits;
  const lut = new Float32Array(G * K * V);
  const indices = new Uint8Array(nIdx);
  for (let g = 0; g < G; g++) {
    const gd = groupData[g];
    const cents = uniq ? uniq[g] : kmeansVectors(gd.data, V, K, gd.weight);
    const kc = cents.length / V;
    for (let k = 0; k < kc; k++) for (let v = 0; v < V; v++) lut[(g * K + k) * V + v] = rdtd(dtype, cents[k * V + v]);
    // nearest rounded centroid
    const m = gd.pos.length;
    for (let j = 0; j < m; j++) {
      let best = Infinity;
      let bk = 0;
      for (let k = 0; k < kc; k++) {
        let d = 0;
        for (let v = 0; v < V; v++) {
          const t = gd.data[j * V + v] - lut[(g * K + k) * V + v];
          d += (gd.weight ? gd.weight[j * V + v] : 1) * t * t;
        }
        if (d < best) {
          best = d;
          bk = k;
        }
      }
      indices[gd.pos[j]] = bk;
    }
  }
  const lutShape = new Array<number>(rank + 2).fill(1);
  lutShape[ca] = G;
  lutShape[rank] = K;
  lutShape[rank + 1] = V;
  const repr: LutRepr = {
    kind: 'lut',
    dtype,
    nbits,
    shape: shape.slice(),
    indices,
    indicesShape,
    lut,
    lutShape,
    vectorAxis: ca,
  };
  if (pcs) repr.perChannelScale = pcs;
  return repr;
}
