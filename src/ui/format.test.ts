import { describe, expect, it } from 'vitest';
import { fmtBytesAxis, fmtCount, fmtCountAxis } from './format';

describe('axis labels', () => {
  it('counts without trailing zeros, in the units of fmtCount', () => {
    expect([0, 250, 500_000, 1_000_000, 1_500_000, 12_345_678, 2e9].map(fmtCountAxis)).toEqual(['0', '250', '500k', '1M', '1.5M', '12.3M', '2B']);
    expect(fmtCount(500_000)).toBe('500.0k'); // the table's form keeps its fixed decimals
    expect(fmtCountAxis(NaN)).toBe('–');
  });

  it('bytes without trailing zeros', () => {
    expect([0, 20 * 1024, 2.5 * 1024 ** 2, 100 * 1024 ** 2].map(fmtBytesAxis)).toEqual(['0 B', '20 KB', '2.5 MB', '100 MB']);
  });
});
