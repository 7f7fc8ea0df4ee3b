/** Number formatting for the page. */

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a < 1024) return `${n} B`;
  if (a < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (a < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(2)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Exact bytes with thousands separators: 153,921 */
export function fmtExact(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtCount(n: number): string {
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)}M`;
  return `${(n / 1e9).toFixed(2)}B`;
}

export function fmtPct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '∞' : x < 0 ? '-∞' : '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(2);
  return x.toPrecision(4).replace(/\.?0+$/, '');
}

export function fmtShape(s: number[]): string {
  return s.length ? s.join('×') : 'scalar';
}

/** A count for an axis label: fmtCount's units without trailing zeros (500k, 1.5M). */
export function fmtCountAxis(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  const [d, u] = a < 1e3 ? [1, ''] : a < 1e6 ? [1e3, 'k'] : a < 1e9 ? [1e6, 'M'] : [1e9, 'B'];
  return `${Number((n / d).toPrecision(3))}${u}`;
}

/** Bytes for an axis label: the unit of fmtBytes without trailing zeros (20 KB, 2.5 MB, 100 MB). */
export function fmtBytesAxis(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  const [d, u] = a < 1024 ? [1, 'B'] : a < 1024 ** 2 ? [1024, 'KB'] : a < 1024 ** 3 ? [1024 ** 2, 'MB'] : [1024 ** 3, 'GB'];
  return `${Number((n / d).toPrecision(3))} ${u}`;
}
