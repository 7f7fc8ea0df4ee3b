import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clearKMeansMemo, kmeans1d, kmeans1dMany, kmeans1dSmawk, kmeansSolveCount } from './kmeans1d';

/** Sorted distinct values with weights; `even` gives an evenly spaced grid with equal weights (exact ties). */
function data(seed: number, n: number, even: boolean): { xs: Float64Array; ws: Float64Array } {
  let s = seed;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  if (even) return { xs: Float64Array.from({ length: n }, (_, i) => i - (n >> 1)), ws: new Float64Array(n).fill(3) };
  const set = new Set<number>();
  while (set.size < n) set.add(rnd() * 2 - 1);
  const xs = Float64Array.from(set).sort();
  return { xs, ws: Float64Array.from(xs, () => 1 + Math.floor(rnd() * 9)) };
}

describe('kmeans1dMany', () => {
  it('gives, for every k, exactly what kmeans1d gives for that k alone (centers, starts, cost)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
        fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
        (seed, n, even, ks) => {
          const { xs, ws } = data(seed, n, even);
          clearKMeansMemo();
          const many = kmeans1dMany(xs, ws, ks);
          ks.forEach((k, t) => {
            // a fresh solve, not the memoised result of the call above
            clearKMeansMemo();
            const one = kmeans1d(xs, ws, k);
            expect(Array.from(many[t].starts)).toEqual(Array.from(one.starts));
            expect(Array.from(many[t].centers)).toEqual(Array.from(one.centers));
            expect(many[t].cost).toBe(one.cost);
            expect(many[t].centers.length).toBe(Math.min(k, n));
          });
        },
      ),
      { numRuns: 80 },
    );
  });

  it('reaches the optimum of the independent SMAWK solver at every k of a 5,000-point Gaussian histogram', () => {
    let s = 99;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const m = new Map<number, number>();
    for (let i = 0; i < 200000; i++) {
      const v = Math.round(Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd()) * 800) / 800;
      m.set(v, (m.get(v) ?? 0) + 1);
    }
    const xs = Float64Array.from(m.keys()).sort();
    const ws = Float64Array.from(xs, (x) => m.get(x)!);
    expect(xs.length).toBeGreaterThan(4000);
    const ks = [2, 4, 8, 16, 64];
    const many = kmeans1dMany(xs, ws, ks);
    ks.forEach((k, t) => {
      const ref = kmeans1dSmawk(xs, ws, k);
      expect(Math.abs(many[t].cost - ref.cost)).toBeLessThanOrEqual(ref.cost * 1e-12);
      expect(many[t].starts.length).toBe(k);
      // starts strictly increasing from 0: k non-empty clusters
      expect(many[t].starts[0]).toBe(0);
      for (let c = 1; c < k; c++) expect(many[t].starts[c]).toBeGreaterThan(many[t].starts[c - 1]);
    });
  });

  it('restricting each layer to the rows later layers read keeps the optimum: equals SMAWK on skewed data, k up to 200', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 50, max: 1500 }), fc.integer({ min: 2, max: 200 }), (seed, n, k) => {
        let s = seed;
        const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
        // a dense core and a sparse tail (as fp16 weight histograms), varied weights
        const set = new Set<number>();
        while (set.size < n) set.add(rnd() < 0.8 ? (rnd() - 0.5) * 0.01 : Math.exp(rnd() * 6) * (rnd() < 0.5 ? -1 : 1));
        const xs = Float64Array.from(set).sort();
        const ws = Float64Array.from(xs, () => 1 + Math.floor(rnd() ** 3 * 500));
        const a = kmeans1d(xs, ws, k);
        const b = kmeans1dSmawk(xs, ws, k);
        // both evaluate cluster costs as differences of prefix sums (Q[j] - Q[i] - …): their absolute rounding
        // floor is ~1e-16 of Σ w x², which dominates when the optimum is ~0 (k close to n, values ~1e-3 beside ±400)
        let q = 0;
        for (let i = 0; i < xs.length; i++) q += ws[i] * xs[i] * xs[i];
        expect(Math.abs(a.cost - b.cost)).toBeLessThanOrEqual(Math.max(a.cost, b.cost) * 1e-9 + q * 1e-14);
        expect(a.starts.length).toBe(Math.min(k, n));
      }),
      { numRuns: 40 },
    );
  });

  it('memo: a repeated solve returns copies equal to a fresh solve; results of other histograms in between do not mix', () => {
    const a = data(7, 3000, false);
    const b = data(8, 3000, false);
    clearKMeansMemo();
    const solved = kmeans1dMany(a.xs, a.ws, [16, 256]);
    const fresh = solved.map((r) => ({ centers: Array.from(r.centers), starts: Array.from(r.starts), cost: r.cost }));
    const first = kmeans1d(a.xs, a.ws, 256);
    first.centers.fill(0); // the caller's copy: must not reach the memo
    first.starts.fill(0);
    kmeans1d(b.xs, b.ws, 256);
    // equal values and weights in other arrays hit the same entry
    const again = kmeans1dMany(Float64Array.from(a.xs), Float64Array.from(a.ws), [256, 16, 4]);
    expect(Array.from(again[0].centers)).toEqual(fresh[1].centers);
    expect(Array.from(again[0].starts)).toEqual(fresh[1].starts);
    expect(again[1].cost).toBe(fresh[0].cost);
    clearKMeansMemo();
    const four = kmeans1d(a.xs, a.ws, 4);
    expect(Array.from(again[2].centers)).toEqual(Array.from(four.centers));
    // one weight changed: another histogram, another solve
    const ws2 = Float64Array.from(a.ws);
    ws2[1500] += 1000;
    expect(kmeans1d(a.xs, ws2, 16).cost).not.toBe(fresh[0].cost);
  });

  it('memo: a solve for k = 256 answers every smaller power of two without another DP, equal to fresh solves', () => {
    for (const [seed, even] of [[11, false], [12, true]] as const) {
      const a = data(seed, 4000, even);
      clearKMeansMemo();
      kmeans1d(a.xs, a.ws, 256);
      const before = kmeansSolveCount();
      const ks = [2, 4, 8, 16, 32, 64, 128];
      const hit = kmeans1dMany(a.xs, a.ws, ks);
      expect(kmeansSolveCount()).toBe(before); // all from the memo
      ks.forEach((k, t) => {
        clearKMeansMemo();
        const fresh = kmeans1d(a.xs, a.ws, k);
        expect(Array.from(hit[t].starts)).toEqual(Array.from(fresh.starts));
        expect(Array.from(hit[t].centers)).toEqual(Array.from(fresh.centers));
        expect(hit[t].cost).toBe(fresh.cost);
      });
      // a k that is not a power of two is another solve
      kmeans1dMany(a.xs, a.ws, [3]);
      expect(kmeansSolveCount()).toBe(before + ks.length + 1);
    }
  });

  it('k ≥ n: every value its own cluster at zero cost; empty input: no clusters', () => {
    const xs = Float64Array.from([1, 2, 4]);
    const ws = Float64Array.from([1, 1, 1]);
    const [a, b, c] = kmeans1dMany(xs, ws, [3, 8, 2]);
    expect(Array.from(a.centers)).toEqual([1, 2, 4]);
    expect(a.cost).toBe(0);
    expect(Array.from(b.starts)).toEqual([0, 1, 2]);
    expect(Array.from(c.centers)).toEqual([1.5, 4]);
    expect(c.cost).toBeCloseTo(0.5, 12);
    expect(kmeans1dMany(new Float64Array(0), new Float64Array(0), [4])[0].centers.length).toBe(0);
  });
});
