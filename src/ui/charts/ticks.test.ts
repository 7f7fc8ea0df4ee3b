import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { axisOf, niceAxis } from './ticks';

describe('niceAxis (ticks without recharts’ decimal.js)', () => {
  it('covers the data with round, evenly spaced ticks', () => {
    expect(niceAxis(0, 100, 5)).toEqual({ domain: [0, 100], ticks: [0, 25, 50, 75, 100] });
    expect(niceAxis(12, 47, 5).ticks).toEqual([10, 20, 30, 40, 50]);
    expect(niceAxis(0.1, 0.3, 3).ticks).toEqual([0.1, 0.2, 0.3]);
    expect(niceAxis(5, 5).domain[0]).toBeLessThan(5);
    expect(niceAxis(3, 9, 5, true).domain[0]).toBe(0);
  });

  it('for any range: the domain contains the data, ticks ascend evenly, and there are few of them', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e9, noNaN: true }), (lo, w) => {
        const hi = lo + w;
        const a = niceAxis(lo, hi, 5);
        expect(a.domain[0]).toBeLessThanOrEqual(lo);
        expect(a.domain[1]).toBeGreaterThanOrEqual(hi);
        expect(a.ticks.length).toBeGreaterThanOrEqual(2);
        expect(a.ticks.length).toBeLessThanOrEqual(12);
        for (let i = 1; i < a.ticks.length; i++) expect(a.ticks[i]).toBeGreaterThan(a.ticks[i - 1]);
      }),
    );
  });

  it('axisOf ignores missing values', () => {
    expect(axisOf([{ a: 3, b: undefined }, { a: 9, b: 1 }], ['a', 'b']).domain[0]).toBeLessThanOrEqual(1);
    expect(axisOf([{ a: undefined }], ['a']).ticks.length).toBeGreaterThan(1);
  });
});

describe('bytesAxisOf', () => {
  it('steps round in the unit of the labels (KB = 1024 B)', async () => {
    const { bytesAxisOf } = await import('./ticks');
    const a = bytesAxisOf([{ b: 65536 }, { b: 1000 }], ['b'], 5, true);
    expect(a.ticks.map((t) => t / 1024)).toEqual([0, 20, 40, 60, 80]);
    expect(a.domain[1]).toBeGreaterThanOrEqual(65536);
  });
});
