import { describe, expect, it } from 'vitest';
import { sameRows } from './hooks';

describe('sameRows (charts keep their data reference when nothing drawn changed)', () => {
  it('equal rows with new identities are the same; any changed, added or missing value is not', () => {
    const a = [{ name: 'conv', before: 10, after: undefined as number | undefined }, { name: 'fc', before: 4, after: 2 }];
    expect(sameRows(a, a.map((r) => ({ ...r })))).toBe(true);
    expect(sameRows(a, [{ ...a[0], after: 5 }, a[1]])).toBe(false);
    expect(sameRows(a, [a[0]])).toBe(false);
    expect(sameRows(a, [{ name: 'conv', before: 10 }, a[1]] as typeof a)).toBe(false);
    expect(sameRows([{ x: NaN }], [{ x: NaN }])).toBe(true);
    expect(sameRows([{ x: 0 }], [{ x: -0 }])).toBe(false);
  });
});
