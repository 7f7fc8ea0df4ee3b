/**
 * Exact (globally optimal) 1-D k-means over a weighted set of distinct sorted values, by dynamic programming:
 * D[c][j] = min_i D[c-1][i] + cost(i, j), where cost(i, j) is the weighted SSE of points [i, j) about their
 * mean. The optimal split points are monotone in j, so each layer is computed by divide and conquer in
 * O(n log n), O(k n log n) in all, with Knuth's bound (the split for (c, j) is at or after the one for
 * (c-1, j)) narrowing every scan; each layer only from the first j a later layer can read (layerFloor), the last
 * layer at j = n alone. The same optimum as coremltools' kmeans1d (SMAWK); never worse than a Lloyd /
 * scikit-learn run.
 */

export interface KMeans1DResult {
  /** weighted means of the clusters, ascending (length min(k, n)) */
  centers: Float64Array;
  /** first point index of each cluster (length centers.length) */
  starts: Int32Array;
  /** weighted SSE of the optimal partition */
  cost: number;
}

/**
 * Prefix sums of weight, weighted value and weighted square over the data centred on its weighted mean (for
 * precision): the cost of points [i, j) is Q[j]-Q[i] - (S[j]-S[i])² / (W[j]-W[i]).
 */
function prefixSums(xs: Float64Array, ws: Float64Array): { mean: number; W: Float64Array; S: Float64Array; Q: Float64Array } {
  const n = xs.length;
  let tw = 0;
  let tm = 0;
  for (let i = 0; i < n; i++) {
    tw += ws[i];
    tm += ws[i] * xs[i];
  }
  const mean = tm / tw;
  const W = new Float64Array(n + 1);
  const S = new Float64Array(n + 1);
  const Q = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const w = ws[i];
    const x = xs[i] - mean;
    W[i + 1] = W[i] + w;
    S[i + 1] = S[i] + w * x;
    Q[i + 1] = Q[i] + w * x * x;
  }
  return { mean, W, S, Q };
}

/**
 * @param xs distinct values, ascending
 * @param ws positive weights (counts)
 */
export function kmeans1d(xs: Float64Array, ws: Float64Array, k: number): KMeans1DResult {
  return kmeans1dMany(xs, ws, [k])[0];
}

/**
 * kmeans1d for several cluster counts from one DP: the optimum for every k ≤ max(ks) is read off the layers
 * computed for the largest. Every scan window contains the leftmost optimal split and the scan keeps the first
 * minimum, so each split is the leftmost optimal one whatever range its layer covers: each result equals
 * kmeans1d(xs, ws, k) alone (which is this with one k), barring splits whose costs differ only by rounding.
 */
export function kmeans1dMany(xs: Float64Array, ws: Float64Array, ks: readonly number[]): KMeans1DResult[] {
  const entry = memoEntry(xs, ws);
  const todo = ks.filter((k, t) => !entry.results.has(k) && ks.indexOf(k) === t);
  if (todo.length) {
    // every power of two below the largest k comes with the same layers for one scan of D[k][n] each (O(n)):
    // solved now, the size/error curve of the same weight (k = 2, 4, 16, 64 …) finds them in the memo
    let top = 0;
    for (const k of todo) if (k > top) top = k;
    for (let k = 2; k < top; k *= 2) if (!entry.results.has(k) && !todo.includes(k)) todo.push(k);
    const sols = solveMany(xs, ws, todo);
    solves++;
    todo.forEach((k, t) => entry.results.set(k, sols[t]));
  }
  return ks.map((k) => copyResult(entry.results.get(k)!));
}

/**
 * The last few solved histograms with their results per k. The same histogram is often solved twice in one
 * worker: the app's 8-bit palettization of a weight and the same weight's size/error curve (whose widths include
 * 8 bits) are separate jobs, each a k = 256 DP (~120 ms at 23k points). A solve also keeps the results of every
 * power of two below its largest k (read off the same layers), so the curve's k = 2 … 64 after an 8-bit job are
 * hits too (the page runs a weight's jobs on the worker that last had it: workers/pool.ts affinity). A hit needs the
 * exact same values and weights (compared in full), and returns copies: the same result the DP would give.
 */
interface MemoEntry {
  xs: Float64Array;
  ws: Float64Array;
  results: Map<number, KMeans1DResult>;
}
const MEMO_ENTRIES = 8;
const memo: MemoEntry[] = [];

function sameArray(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

function memoEntry(xs: Float64Array, ws: Float64Array): MemoEntry {
  for (let t = memo.length - 1; t >= 0; t--) {
    const e = memo[t];
    if (sameArray(e.ws, ws) && sameArray(e.xs, xs)) {
      memo.splice(t, 1);
      memo.push(e);
      return e;
    }
  }
  const e: MemoEntry = { xs: Float64Array.from(xs), ws: Float64Array.from(ws), results: new Map() };
  memo.push(e);
  if (memo.length > MEMO_ENTRIES) memo.shift();
  return e;
}

function copyResult(r: KMeans1DResult): KMeans1DResult {
  return { centers: Float64Array.from(r.centers), starts: Int32Array.from(r.starts), cost: r.cost };
}

let solves = 0;
/** DP solves run so far (memo misses; tests read it). */
export function kmeansSolveCount(): number {
  return solves;
}

/** Forget every memoised solve (tests that compare two solves of the same input). */
export function clearKMeansMemo(): void {
  memo.length = 0;
}

/** kmeans1dMany without the memo. */
function solveMany(xs: Float64Array, ws: Float64Array, ks: readonly number[]): KMeans1DResult[] {
  const n = xs.length;
  const out: KMeans1DResult[] = new Array(ks.length);
  if (n === 0) {
    for (let t = 0; t < ks.length; t++) out[t] = { centers: new Float64Array(0), starts: new Int32Array(0), cost: 0 };
    return out;
  }
  const A = table(xs, ws);
  // the largest cluster count below n (k ≥ n: every value its own cluster, no DP)
  let Kmax = 1;
  for (const k of ks) if (k < n && k > Kmax) Kmax = k;
  const finals = new Float64Array(Kmax + 1);
  const finalArg = new Int32Array(Kmax + 1);
  const want = new Uint8Array(Kmax + 1);
  for (const k of ks) if (k < n) want[k] = 1;
  finals[1] = A[4 * n + 3];
  const cur = new Float64Array(n + 1);
  const big = n > 65535;
  const back: (Uint16Array | Int32Array)[] = [];
  // LIFO of pending ranges: each pop pushes two whose j ranges are half as long, so at most one pending
  // quadruple per halving level (≤ 33 for n < 2^32); 128 quadruples is ample
  const stack = new Int32Array(4 * 128);
  // layer c is needed only for j ≥ lo[c] (see layerFloor); below it, its column of A holds +Infinity
  let loPrev = 0;
  for (let c = 2; c <= Kmax && c < n; c++) {
    const lowerPrev = back.length ? back[back.length - 1] : null;
    // D[c][n] when some k = c asks for it: one scan of the splits from Knuth's bound opt(c-1, n) on
    if (want[c]) {
      const from = lowerPrev !== null && lowerPrev[n] > c - 1 ? lowerPrev[n] : c - 1;
      finals[c] = scan(A, n, from, n - 1, finalArg, c);
    }
    if (c === Kmax) break;
    const lo = layerFloor(lowerPrev, n, c, Kmax);
    const arg = big ? new Int32Array(n + 1) : new Uint16Array(n + 1);
    layer(A, cur, arg, lowerPrev, stack, c, lo, n);
    settle(A, cur, loPrev, lo, n);
    loPrev = lo;
    back.push(arg);
  }
  for (let t = 0; t < ks.length; t++) {
    const K = Math.min(ks[t], n);
    if (K === n) {
      const starts = new Int32Array(n);
      for (let i = 0; i < n; i++) starts[i] = i;
      out[t] = { centers: Float64Array.from(xs), starts, cost: 0 };
      continue;
    }
    // backtrack
    const starts = new Int32Array(K);
    if (K > 1) {
      let j = finalArg[K];
      starts[K - 1] = j;
      for (let c = K - 1; c >= 2; c--) {
        j = back[c - 2][j];
        starts[c - 1] = j;
      }
    }
    out[t] = { centers: centersOf(xs, ws, starts), starts, cost: finals[K] };
  }
  return out;
}

/**
 * One interleaved table [W, S, Q, D] per point j (prefix sums over [0, j); D: layer 1, cost(0, j), then each
 * layer's optimum in turn): the scan reads one cache line per candidate instead of four arrays (~30% faster).
 * The solver's loops over n live in small functions of their own (table, layer, settle): V8 compiles each once;
 * loops in the solver itself made it recompile on stack replacement at every call of a one-shot run.
 */
function table(xs: Float64Array, ws: Float64Array): Float64Array {
  // prefixSums' arithmetic in prefixSums' order (the SMAWK cross-check sees the same sums), in one pass
  const n = xs.length;
  let tw = 0;
  let tm = 0;
  for (let i = 0; i < n; i++) {
    tw += ws[i];
    tm += ws[i] * xs[i];
  }
  const mean = tm / tw;
  const A = new Float64Array(4 * (n + 1));
  let W = 0;
  let S = 0;
  let Q = 0;
  for (let i = 0, p = 4; i < n; i++, p += 4) {
    const w = ws[i];
    const x = xs[i] - mean;
    W = W + w;
    S = S + w * x;
    Q = Q + w * x * x;
    A[p] = W;
    A[p + 1] = S;
    A[p + 2] = Q;
    const c = Q - (S * S) / W;
    A[p + 3] = c > 0 ? c : 0;
  }
  return A;
}

/** Layer c's optima into column 3 of A for j in [lo, n]; +Infinity over the previous layer's rows below lo. */
function settle(A: Float64Array, cur: Float64Array, loPrev: number, lo: number, n: number): void {
  for (let j = loPrev; j < lo; j++) A[4 * j + 3] = Infinity;
  for (let j = lo; j <= n; j++) A[4 * j + 3] = cur[j];
}

/**
 * The smallest j at which layer c (< K) can be read on the way to D[K][n]: every later scan starts at Knuth's
 * bound, so layer c+1 reads layer c from opt(c, lo[c+1]) on, and layer K's one scan from opt(K-1, n). With
 * opt(c, ·) ≥ opt(c-1, ·) (Knuth) and both nondecreasing, iterating opt(c-1, ·) K-c times from n (layer c-1's
 * argmins, known before layer c is computed) gives a floor that is never above the true one. On fp16 weight
 * histograms the upper layers then cover a few thousand of ~23k points: ~40% fewer scans at k = 16.
 */
function layerFloor(lowerPrev: Uint16Array | Int32Array | null, n: number, c: number, K: number): number {
  let j = n;
  if (lowerPrev === null) return c;
  for (let t = c; t < K && j > c; t++) j = lowerPrev[j];
  return j > c ? j : c;
}

/**
 * Layer c of the DP: D[c][j] for j in [lo, n] into `cur` from D[c-1] (column 3 of A),
 * split i in [c-1, j-1], by divide and conquer over j with Knuth's bound (the optimal split for (c, j) is ≥ the
 * one for (c-1, j), `lower`). A function of its own, with its scan inline: V8 optimises a small hot loop once;
 * the whole solver as one function was recompiled on stack replacement a dozen times (~30 ms each) and its
 * first solves ran ~4x slower, which is all a one-shot run sees.
 */
function layer(
  A: Float64Array,
  cur: Float64Array,
  arg: Uint16Array | Int32Array,
  lower: Uint16Array | Int32Array | null,
  stack: Int32Array,
  c: number,
  lo: number,
  n: number,
): void {
  let sp = 0;
  stack[sp++] = lo;
  stack[sp++] = n;
  stack[sp++] = c - 1;
  stack[sp++] = n - 1;
  while (sp > 0) {
    const hiI = stack[--sp];
    const loI = stack[--sp];
    const hj = stack[--sp];
    const lj = stack[--sp];
    if (lj > hj) continue;
    const mid = (lj + hj) >> 1;
    const from = lower !== null && lower[mid] > loI ? lower[mid] : loI;
    const top = hiI < mid - 1 ? hiI : mid - 1;
    const pm = 4 * mid;
    const wm = A[pm];
    const sm = A[pm + 1];
    const qm = A[pm + 2];
    let best = Infinity;
    let bi = from;
    // two candidates per step (~13% faster); the first minimum, as one at a time
    let i = from;
    let p = 4 * from;
    for (; i < top; i += 2, p += 8) {
      const w0 = wm - A[p];
      const s0 = sm - A[p + 1];
      let c0 = qm - A[p + 2] - (s0 * s0) / w0;
      const w1 = wm - A[p + 4];
      const s1 = sm - A[p + 5];
      let c1 = qm - A[p + 6] - (s1 * s1) / w1;
      if (c0 < 0) c0 = 0;
      if (c1 < 0) c1 = 0;
      const v0 = A[p + 3] + c0;
      const v1 = A[p + 7] + c1;
      if (v0 < best) {
        best = v0;
        bi = i;
      }
      if (v1 < best) {
        best = v1;
        bi = i + 1;
      }
    }
    if (i === top) {
      const w = wm - A[p];
      const s = sm - A[p + 1];
      let cc = qm - A[p + 2] - (s * s) / w;
      if (cc < 0) cc = 0;
      const v = A[p + 3] + cc;
      if (v < best) {
        best = v;
        bi = i;
      }
    }
    cur[mid] = best;
    arg[mid] = bi;
    // only non-empty halves (half the nodes are leaves)
    if (lj < mid) {
      stack[sp++] = lj;
      stack[sp++] = mid - 1;
      stack[sp++] = loI;
      stack[sp++] = bi;
    }
    if (mid < hj) {
      stack[sp++] = mid + 1;
      stack[sp++] = hj;
      stack[sp++] = bi;
      stack[sp++] = hiI;
    }
  }
}

/** min over splits i in [from, top] of D[i] + cost(i, j) (first minimum, its split into argOut[at]). */
function scan(A: Float64Array, j: number, from: number, top: number, argOut: Int32Array, at: number): number {
  const pj = 4 * j;
  const wj = A[pj];
  const sj = A[pj + 1];
  const qj = A[pj + 2];
  let best = Infinity;
  let bi = from;
  for (let i = from, p = 4 * from; i <= top; i++, p += 4) {
    const w = wj - A[p];
    const s = sj - A[p + 1];
    let cc = qj - A[p + 2] - (s * s) / w;
    if (cc < 0) cc = 0;
    const v = A[p + 3] + cc;
    if (v < best) {
      best = v;
      bi = i;
    }
  }
  argOut[at] = bi;
  return best;
}

/** Weighted means of the clusters that start at `starts`. */
function centersOf(xs: Float64Array, ws: Float64Array, starts: Int32Array): Float64Array {
  const K = starts.length;
  const n = xs.length;
  const centers = new Float64Array(K);
  for (let c = 0; c < K; c++) {
    const a = starts[c];
    const b = c + 1 < K ? starts[c + 1] : n;
    let sw = 0;
    let sx = 0;
    for (let i = a; i < b; i++) {
      sw += ws[i];
      sx += ws[i] * xs[i];
    }
    centers[c] = sx / sw;
  }
  return centers;
}

/** Weighted SSE of assigning each value to its nearest center (centers ascending). */
export function sseNearest(xs: Float64Array, ws: Float64Array, centers: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) {
    let b = Infinity;
    for (let c = 0; c < centers.length; c++) {
      const d = xs[i] - centers[c];
      if (d * d < b) b = d * d;
    }
    s += ws[i] * b;
  }
  return s;
}

/** Exact DP up to this many distinct values; beyond (fp32 tensors), DP on at most this many bins + exact Lloyd. */
export const EXACT_LIMIT = 65536;

/**
 * Contiguous bins of the sorted values, each closed when it holds ceil(n / (limit/2)) values or when it would
 * span more than 1/(limit/2) of the value range: at most `limit` bins. Closing by width as well as by count
 * keeps the few outliers of a heavy-tailed weight out of the bins of the bulk (equal-count bins alone put
 * 19.5, 19.6 and 29.3 into one bin with ordinary values, and Lloyd never separates them again).
 */
export function binSorted(xs: Float64Array, ws: Float64Array, limit = EXACT_LIMIT): { bx: Float64Array; bw: Float64Array } {
  const n = xs.length;
  const half = Math.max(1, limit >> 1);
  const maxCount = Math.ceil(n / half);
  const maxWidth = (xs[n - 1] - xs[0]) / half;
  const bx = new Float64Array(limit);
  const bw = new Float64Array(limit);
  let m = 0;
  let a = 0;
  while (a < n) {
    const x0 = xs[a];
    let e = a + 1;
    while (e < n && e - a < maxCount && xs[e] - x0 <= maxWidth) e++;
    let sw = 0;
    let sx = 0;
    for (let i = a; i < e; i++) {
      sw += ws[i];
      sx += ws[i] * xs[i];
    }
    bw[m] = sw;
    bx[m] = sx / sw;
    m++;
    a = e;
  }
  return { bx: bx.subarray(0, m), bw: bw.subarray(0, m) };
}

/**
 * k-means for any number of distinct values: exact when n ≤ `limit` (always the case for fp16 data);
 * otherwise the optimal partition of at most `limit` contiguous bins (binSorted), refined by Lloyd iterations
 * on the full sorted data (each O(k log n) with prefix sums) until the partition is stable.
 */
export function kmeansOptimal(xs: Float64Array, ws: Float64Array, k: number, limit = EXACT_LIMIT): KMeans1DResult {
  const n = xs.length;
  if (n <= limit || k >= n) return kmeans1d(xs, ws, k);
  const { bx, bw } = binSorted(xs, ws, limit);
  const coarse = kmeans1d(bx, bw, k);
  return lloydSorted(xs, ws, Array.from(coarse.centers));
}

/** kmeansOptimal for several k: one DP for all of them when it is exact (identical to one call per k). */
export function kmeansOptimalMany(xs: Float64Array, ws: Float64Array, ks: readonly number[], limit = EXACT_LIMIT): KMeans1DResult[] {
  if (xs.length <= limit) return kmeans1dMany(xs, ws, ks);
  return ks.map((k) => kmeansOptimal(xs, ws, k, limit));
}

/** Lloyd iterations on sorted weighted points, with prefix sums: exact assignment by midpoints. */
export function lloydSorted(xs: Float64Array, ws: Float64Array, init: number[]): KMeans1DResult {
  const n = xs.length;
  const K = init.length;
  const W = new Float64Array(n + 1);
  const S = new Float64Array(n + 1);
  const Q = new Float64Array(n + 1);
  const mean = xs[0];
  for (let i = 0; i < n; i++) {
    const x = xs[i] - mean;
    W[i + 1] = W[i] + ws[i];
    S[i + 1] = S[i] + ws[i] * x;
    Q[i + 1] = Q[i] + ws[i] * x * x;
  }
  const c = init.map((v) => v - mean);
  let starts = new Int32Array(K);
  const firstAbove = (t: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] - mean <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (let it = 0; it < 200; it++) {
    const ns = new Int32Array(K);
    for (let t = 1; t < K; t++) ns[t] = firstAbove((c[t - 1] + c[t]) / 2);
    let same = it > 0;
    for (let t = 0; t < K; t++) if (ns[t] !== starts[t]) same = false;
    starts = ns;
    for (let t = 0; t < K; t++) {
      const a = starts[t];
      const e = t + 1 < K ? starts[t + 1] : n;
      const w = W[e] - W[a];
      if (w > 0) c[t] = (S[e] - S[a]) / w;
    }
    if (same) break;
  }
  let cost = 0;
  for (let t = 0; t < K; t++) {
    const a = starts[t];
    const e = t + 1 < K ? starts[t + 1] : n;
    const w = W[e] - W[a];
    if (w > 0) cost += Math.max(0, Q[e] - Q[a] - ((S[e] - S[a]) ** 2) / w);
  }
  return { centers: Float64Array.from(c, (v) => v + mean), starts, cost };
}

/**
 * Optimal 1-D k-means with SMAWK (O(k n)), the algorithm of kmeans1d (Grønlund et al. 2017): for layer c the
 * matrix M[i][j] = D[c-1][min(i,j) - 1] + cost(min(i,j), i) (rows i: last point, cols j: first point of the
 * last cluster) is totally monotone, so its row minima come from SMAWK.
 */
export function kmeans1dSmawk(xs: Float64Array, ws: Float64Array, k: number): KMeans1DResult {
  const n = xs.length;
  if (n === 0) return { centers: new Float64Array(0), starts: new Int32Array(0), cost: 0 };
  const K = Math.min(k, n);
  if (K === n) {
    const starts = new Int32Array(n);
    for (let i = 0; i < n; i++) starts[i] = i;
    return { centers: Float64Array.from(xs), starts, cost: 0 };
  }
  const { mean, W, S, Q } = prefixSums(xs, ws);
  // cc(a, b): cost of points a..b inclusive
  let prev = new Float64Array(n);
  let cur = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = W[i + 1];
    const s2 = S[i + 1];
    const c = Q[i + 1] - (s2 * s2) / w;
    prev[i] = c > 0 ? c : 0;
  }
  const small = n <= 65536;
  const back: (Uint16Array | Int32Array)[] = [];
  // LIFO of pending ranges: each pop pushes two whose j ranges are half as long, so at most one pending
  // quadruple per halving level (≤ 33 for n < 2^32); 128 quadruples is ample
  const stack = new Int32Array(4 * 128);
  const lookup = (i: number, j: number): number => {
    const col = j < i ? j : i;
    const w = W[i + 1] - W[col];
    const s2 = S[i + 1] - S[col];
    let c = Q[i + 1] - Q[col] - (s2 * s2) / w;
    if (c < 0) c = 0;
    return prev[col - 1] + c;
  };
  for (let c = 1; c < K; c++) {
    const m = n - c;
    const rows = new Int32Array(m);
    const cols = new Int32Array(m);
    for (let t = 0; t < m; t++) rows[t] = cols[t] = c + t;
    const arg = new Int32Array(n);
    smawk(rows, cols, lookup, arg);
    const keep = small ? new Uint16Array(n) : new Int32Array(n);
    for (let t = c; t < n; t++) {
      const j = arg[t];
      keep[t] = j;
      cur[t] = lookup(t, j);
    }
    back.push(keep);
    const tmp = prev;
    prev = cur;
    cur = tmp;
  }
  const total = prev[n - 1];
  const starts = new Int32Array(K);
  let i = n - 1;
  for (let c = K - 1; c >= 1; c--) {
    const j = back[c - 1][i];
    starts[c] = j;
    i = j - 1;
  }
  starts[0] = 0;
  const centers = new Float64Array(K);
  for (let c = 0; c < K; c++) {
    const a = starts[c];
    const b = c + 1 < K ? starts[c + 1] : n;
    let sw = 0;
    let sx = 0;
    for (let t = a; t < b; t++) {
      sw += ws[t];
      sx += ws[t] * xs[t];
    }
    centers[c] = sx / sw;
  }
  return { centers, starts, cost: total };
}

function smawk(rows: Int32Array, cols: Int32Array, lookup: (i: number, j: number) => number, result: Int32Array): void {
  if (rows.length === 0) return;
  // REDUCE: keep at most rows.length candidate columns
  const stack = new Int32Array(Math.min(cols.length, rows.length));
  let top = 0;
  for (let t = 0; t < cols.length; t++) {
    const col = cols[t];
    while (top > 0) {
      const r = rows[top - 1];
      if (lookup(r, stack[top - 1]) <= lookup(r, col)) break;
      top--;
    }
    if (top < rows.length) stack[top++] = col;
  }
  const rcols = stack.subarray(0, top);
  // recurse on odd rows
  const odd = new Int32Array(rows.length >> 1);
  for (let t = 1, u = 0; t < rows.length; t += 2, u++) odd[u] = rows[t];
  smawk(odd, rcols, lookup, result);
  // INTERPOLATE even rows between their odd neighbours' minima
  let start = 0;
  for (let r = 0; r < rows.length; r += 2) {
    const row = rows[r];
    let stop = rcols.length - 1;
    if (r < rows.length - 1) {
      const target = result[rows[r + 1]];
      // columns are increasing: find target from start
      let p = start;
      while (rcols[p] !== target) p++;
      stop = p;
    }
    let best = rcols[start];
    let bv = lookup(row, best);
    for (let c = start + 1; c <= stop; c++) {
      const v = lookup(row, rcols[c]);
      if (v < bv) {
        bv = v;
        best = rcols[c];
      }
    }
    result[row] = best;
    start = stop;
  }
}
