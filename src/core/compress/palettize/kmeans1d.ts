/**
 * Exact (globally optimal) 1-D k-means over a weighted set of distinct sorted values, by dynamic programming:
 * D[c][j] = min_i D[c-1][i] + cost(i, j), where cost(i, j) is the weighted SSE of points [i, j) about their
 * mean. The optimal split points are monotone in j, so each layer is computed by divide and conquer in
 * O(n log n), O(k n log n) in all. The same optimum as coremltools' kmeans1d (SMAWK); never worse than a
 * Lloyd / scikit-learn run.
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
 * @param xs distinct values, ascending
 * @param ws positive weights (counts)
 */
export function kmeans1d(xs: Float64Array, ws: Float64Array, k: number): KMeans1DResult {
  const n = xs.length;
  if (n === 0) return { centers: new Float64Array(0), starts: new Int32Array(0), cost: 0 };
  const K = Math.min(k, n);
  // center the data for precision of the prefix sums
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
  const cost = (i: number, j: number): number => {
    const w = W[j] - W[i];
    const s = S[j] - S[i];
    const c = Q[j] - Q[i] - (s * s) / w;
    return c > 0 ? c : 0;
  };
  if (K === n) {
    const starts = new Int32Array(n);
    for (let i = 0; i < n; i++) starts[i] = i;
    return { centers: Float64Array.from(xs), starts, cost: 0 };
  }
  let prev = new Float64Array(n + 1);
  let cur = new Float64Array(n + 1);
  for (let j = 1; j <= n; j++) prev[j] = cost(0, j);
  const big = n > 65535;
  const back: (Uint16Array | Int32Array)[] = [];
  for (let c = 2; c <= K; c++) {
    const arg = big ? new Int32Array(n + 1) : new Uint16Array(n + 1);
    // D[c][j] for j in [c, n]; split i in [c-1, j-1]
    const solve = (jlo: number, jhi: number, ilo: number, ihi: number): void => {
      // iterative over a small explicit stack to avoid deep recursion costs
      const stack: number[] = [jlo, jhi, ilo, ihi];
      while (stack.length) {
        const hi_i = stack.pop()!;
        const lo_i = stack.pop()!;
        const hj = stack.pop()!;
        const lj = stack.pop()!;
        if (lj > hj) continue;
        const mid = (lj + hj) >> 1;
        let best = Infinity;
        let bi = lo_i;
        const top = Math.min(hi_i, mid - 1);
        for (let i = lo_i; i <= top; i++) {
          const w = W[mid] - W[i];
          const s = S[mid] - S[i];
          let cc = Q[mid] - Q[i] - (s * s) / w;
          if (cc < 0) cc = 0;
          const v = prev[i] + cc;
          if (v < best) {
            best = v;
            bi = i;
          }
        }
        cur[mid] = best;
        arg[mid] = bi;
        stack.push(lj, mid - 1, lo_i, bi);
        stack.push(mid + 1, hj, bi, hi_i);
      }
    };
    solve(c, n, c - 1, n - 1);
    back.push(arg);
    const t = prev;
    prev = cur;
    cur = t;
  }
  const total = prev[n];
  // backtrack
  const starts = new Int32Array(K);
  let j = n;
  for (let c = K; c >= 2; c--) {
    const i = back[c - 2][j];
    starts[c - 1] = i;
    j = i;
  }
  starts[0] = 0;
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
  return { centers, starts, cost: total };
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
