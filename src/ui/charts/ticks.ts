/**
 * Axis ticks computed here with plain floats: recharts' own "nice" ticks go through decimal.js on every data change
 * (tens of ms per chart update in the profiles of e2e/perf.spec.ts). An explicit domain and tick list skip that.
 */
export interface Axis {
  domain: [number, number];
  ticks: number[];
}

/** About `count` round ticks (1, 2, 2.5, 5 × 10^k steps) covering [lo, hi]; the domain is the outer ticks. */
export function niceAxis(lo: number, hi: number, count = 5, zero = false): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { domain: [0, 1], ticks: [0, 1] };
  if (zero) {
    lo = Math.min(0, lo);
    hi = Math.max(0, hi);
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const a = Math.floor(lo / step + 1e-9);
  const b = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // i · step without float noise in the labels (0.30000000000000004)
  for (let i = a; i <= b && ticks.length < 100; i++) ticks.push(Number((i * step).toPrecision(12)));
  const ok =
    Number.isFinite(step) && step > 0 && ticks.length >= 2 && ticks[0] <= lo && ticks[ticks.length - 1] >= hi && ticks.every((t, i) => i === 0 || t > ticks[i - 1]);
  // ranges too narrow for round steps at their magnitude (or denormal): the bare range
  if (!ok) return { domain: [lo, hi], ticks: [lo, hi] };
  return { domain: [ticks[0], ticks[ticks.length - 1]], ticks };
}

/** The axis of the values in `rows` under `keys` (undefined and non-finite values ignored). */
export function axisOf<T extends object>(rows: T[], keys: (keyof T)[], count = 5, zero = false): Axis {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    for (const k of keys) {
      const v = r[k];
      if (typeof v === 'number' && Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (lo > hi) return niceAxis(0, 1, count, zero);
  return niceAxis(lo, hi, count, zero);
}

/** Like axisOf for byte counts: round steps in the unit the labels use (B, KB = 1024 B, MB, GB), e.g. 20 KB, 40 KB. */
export function bytesAxisOf<T extends object>(rows: T[], keys: (keyof T)[], count = 5, zero = false): Axis {
  let hi = 0;
  for (const r of rows) for (const k of keys) {
    const v = r[k];
    if (typeof v === 'number' && Number.isFinite(v)) hi = Math.max(hi, Math.abs(v));
  }
  const unit = hi >= 1024 ** 3 ? 1024 ** 3 : hi >= 1024 ** 2 ? 1024 ** 2 : hi >= 1024 ? 1024 : 1;
  const scaled = rows.map((r) => {
    const o: Record<string, number | undefined> = {};
    for (const k of keys) {
      const v = r[k];
      o[k as string] = typeof v === 'number' ? v / unit : undefined;
    }
    return o;
  });
  const a = axisOf(scaled, keys as string[], count, zero);
  return { domain: [a.domain[0] * unit, a.domain[1] * unit], ticks: a.ticks.map((t) => t * unit) };
}
