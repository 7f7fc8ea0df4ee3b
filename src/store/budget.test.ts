import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { paretoFrontier, relativeError, solveBudget, type BudgetLayer } from './budget';

function bruteForce(layers: BudgetLayer[], budget: number): number {
  let best = Infinity;
  const rec = (i: number, bytes: number, err: number) => {
    if (bytes > budget) return;
    if (i === layers.length) {
      best = Math.min(best, err);
      return;
    }
    for (const o of layers[i].options) rec(i + 1, bytes + o.bytes, err + o.error);
  };
  rec(0, 0, 0);
  return best;
}

describe('solveBudget', () => {
  it('spends bits where they buy the most error reduction', () => {
    const layers: BudgetLayer[] = [
      { id: 'a', options: [{ id: 'p2', bytes: 100, error: 50 }, { id: 'p8', bytes: 400, error: 1 }] },
      { id: 'b', options: [{ id: 'p2', bytes: 100, error: 5 }, { id: 'p8', bytes: 400, error: 4 }] },
    ];
    const r = solveBudget(layers, 500)!;
    expect(r.choice.get('a')).toBe('p8');
    expect(r.choice.get('b')).toBe('p2');
    expect(r.bytes).toBe(500);
    expect(r.error).toBe(6);
  });

  it('returns undefined when nothing fits', () => {
    expect(solveBudget([{ id: 'a', options: [{ id: 'x', bytes: 10, error: 0 }] }], 9)).toBeUndefined();
  });

  it('never exceeds the budget and is optimal on small instances (exact when bytes are multiples of the unit)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.record({ bytes: fc.integer({ min: 1, max: 60 }), error: fc.double({ min: 0, max: 100, noNaN: true }) }), { minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: 1, max: 250 }),
        (raw, budget) => {
          const layers: BudgetLayer[] = raw.map((opts, i) => ({ id: `l${i}`, options: opts.map((o, j) => ({ id: `o${j}`, ...o })) }));
          const r = solveBudget(layers, budget, 1000);
          const opt = bruteForce(layers, budget);
          if (!Number.isFinite(opt)) return r === undefined;
          expect(r).toBeDefined();
          expect(r!.bytes).toBeLessThanOrEqual(budget);
          expect(r!.error).toBeCloseTo(opt, 9);
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays within the budget when bytes are rounded into coarse units', () => {
    const layers: BudgetLayer[] = Array.from({ length: 50 }, (_, i) => ({
      id: `l${i}`,
      options: [1, 2, 4, 8].map((b) => ({ id: `p${b}`, bytes: 1000 * b + 17 * i, error: (1000 + i) / 2 ** (2 * b) })),
    }));
    const budget = 50 * 4000;
    const r = solveBudget(layers, budget, 300)!;
    expect(r.bytes).toBeLessThanOrEqual(budget);
    expect(r.bytes).toBeGreaterThan(budget * 0.8);
  });
});

describe('relativeError and paretoFrontier', () => {
  it('relative error is count × 10^(-snr/10)', () => {
    expect(relativeError(1000, 20)).toBeCloseTo(10, 12);
    expect(relativeError(5, Infinity)).toBe(0);
  });
  it('keeps only points not dominated', () => {
    const f = paretoFrontier([
      { bytes: 10, error: 5 },
      { bytes: 20, error: 6 },
      { bytes: 30, error: 1 },
      { bytes: 5, error: 9 },
    ]);
    expect(f).toEqual([
      { bytes: 5, error: 9 },
      { bytes: 10, error: 5 },
      { bytes: 30, error: 1 },
    ]);
  });
});
