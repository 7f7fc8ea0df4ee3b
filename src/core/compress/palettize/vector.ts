/**
 * Vector k-means for cluster_dim > 1: deterministic Lloyd iterations from k-means++ seeds (seeded PRNG),
 * several restarts when affordable, keeping the lowest (weighted) SSE. Optional per-component weights
 * (scale² for enable_per_channel_scale). Tensors with more than TRAIN_LIMIT vectors are fitted on an evenly
 * strided sample (the assignment then covers every vector).
 */
import { mulberry32 } from '../../tensor/random';

/** Vectors used to fit the centroids at most (a strided sample beyond). */
export const TRAIN_LIMIT = 1 << 18;

/** Distinct vectors (lexicographically sorted), flattened. */
export function uniqueVectors(data: Float64Array, V: number): Float64Array {
  const m = data.length / V;
  const keys = new Map<string, number>();
  for (let j = 0; j < m; j++) {
    const key = Array.from(data.subarray(j * V, j * V + V), (x) => (x === 0 ? 0 : x)).join(',');
    if (!keys.has(key)) keys.set(key, j);
  }
  const rows = [...keys.values()].map((j) => Array.from(data.subarray(j * V, j * V + V), (x) => (x === 0 ? 0 : x)));
  rows.sort((a, b) => {
    for (let v = 0; v < V; v++) if (a[v] !== b[v]) return a[v] - b[v];
    return 0;
  });
  return Float64Array.from(rows.flat());
}

/** Returns min(K, #distinct) centroids, flattened [k*V + v]. */
export function kmeansVectors(data: Float64Array, V: number, K: number, weight: Float64Array | null): Float64Array {
  const m0 = data.length / V;
  if (m0 > TRAIN_LIMIT) {
    // big tensors: fit on an evenly strided sample (deterministic), every vector is assigned afterwards
    const step = m0 / TRAIN_LIMIT;
    const sd = new Float64Array(TRAIN_LIMIT * V);
    const sw = weight ? new Float64Array(TRAIN_LIMIT * V) : null;
    for (let t = 0; t < TRAIN_LIMIT; t++) {
      const j = Math.floor(t * step);
      for (let v = 0; v < V; v++) {
        sd[t * V + v] = data[j * V + v];
        if (sw) sw[t * V + v] = weight![j * V + v];
      }
    }
    data = sd;
    weight = sw;
  }
  const m = data.length / V;
  const uniq = uniqueVectors(data, V);
  if (uniq.length / V <= K && m0 <= TRAIN_LIMIT) return uniq;
  const work = m * K * V;
  const restarts = work <= 2e6 ? 4 : work <= 2e7 ? 2 : 1;
  const maxIter = work <= 2e7 ? 60 : 25;
  let best: Float64Array | null = null;
  let bestCost = Infinity;
  for (let r = 0; r < restarts; r++) {
    const rnd = mulberry32(0x5eed + r * 7919);
    const cents = seedPlusPlus(data, V, K, weight, rnd);
    const cost = lloyd(data, V, K, weight, cents, maxIter);
    if (cost < bestCost) {
      bestCost = cost;
      best = cents;
    }
  }
  return best!;
}

function dist(data: Float64Array, j: number, cents: Float64Array, k: number, V: number, w: Float64Array | null): number {
  let d = 0;
  for (let v = 0; v < V; v++) {
    const t = data[j * V + v] - cents[k * V + v];
    d += (w ? w[j * V + v] : 1) * t * t;
  }
  return d;
}

function seedPlusPlus(data: Float64Array, V: number, K: number, w: Float64Array | null, rnd: () => number): Float64Array {
  const m = data.length / V;
  const cents = new Float64Array(K * V);
  const first = Math.floor(rnd() * m);
  for (let v = 0; v < V; v++) cents[v] = data[first * V + v];
  const d2 = new Float64Array(m);
  for (let j = 0; j < m; j++) d2[j] = dist(data, j, cents, 0, V, w);
  for (let k = 1; k < K; k++) {
    let total = 0;
    for (let j = 0; j < m; j++) total += d2[j];
    let pick = 0;
    if (total > 0) {
      let t = rnd() * total;
      for (pick = 0; pick < m - 1; pick++) {
        t -= d2[pick];
        if (t <= 0) break;
      }
    } else pick = Math.floor(rnd() * m);
    for (let v = 0; v < V; v++) cents[k * V + v] = data[pick * V + v];
    for (let j = 0; j < m; j++) {
      const d = dist(data, j, cents, k, V, w);
      if (d < d2[j]) d2[j] = d;
    }
  }
  return cents;
}

function lloyd(data: Float64Array, V: number, K: number, w: Float64Array | null, cents: Float64Array, maxIter: number): number {
  const m = data.length / V;
  const lab = new Int32Array(m).fill(-1);
  const sum = new Float64Array(K * V);
  const cnt = new Float64Array(K * V);
  let cost = Infinity;
  for (let it = 0; it < maxIter; it++) {
    let changed = 0;
    cost = 0;
    for (let j = 0; j < m; j++) {
      let b = Infinity;
      let bk = 0;
      for (let k = 0; k < K; k++) {
        const d = dist(data, j, cents, k, V, w);
        if (d < b) {
          b = d;
          bk = k;
        }
      }
      cost += b;
      if (lab[j] !== bk) {
        lab[j] = bk;
        changed++;
      }
    }
    if (changed === 0) break;
    sum.fill(0);
    cnt.fill(0);
    for (let j = 0; j < m; j++) {
      const k = lab[j];
      for (let v = 0; v < V; v++) {
        const ww = w ? w[j * V + v] : 1;
        sum[k * V + v] += ww * data[j * V + v];
        cnt[k * V + v] += ww;
      }
    }
    for (let i = 0; i < K * V; i++) if (cnt[i] > 0) cents[i] = sum[i] / cnt[i];
  }
  // final cost with the final centroids
  cost = 0;
  for (let j = 0; j < m; j++) {
    let b = Infinity;
    for (let k = 0; k < K; k++) b = Math.min(b, dist(data, j, cents, k, V, w));
    cost += b;
  }
  return cost;
}
