import { useEffect, useLayoutEffect, useRef, useState } from 'react';

/**
 * The value, updated at most once per `ms` (trailing). Each chart uses its own delay, so that their re-renders
 * land as separate short tasks instead of one long commit of every chart at once. When `settled` (all results are
 * in), the last value shows after `settledMs` instead of the rest of the throttle: the final state is not late, and
 * charts given different `settledMs` still redraw in separate tasks.
 */
export function useThrottled<T>(value: T, ms: number, settled = false, settledMs = 0): T {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  const latest = useRef(value);
  latest.current = value;
  useEffect(() => {
    if (Object.is(value, shown)) return;
    const wait = settled ? settledMs : Math.max(0, last.current + ms - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      setShown(() => latest.current);
    }, wait);
    return () => clearTimeout(t);
  }, [value, shown, ms, settled, settledMs]);
  return shown;
}

/**
 * Records how long a component's render took until its commit (render start → its layout effects, children
 * included) as a `performance.measure` named `render:<name>` when it exceeds `minMs`. Costs two clock reads;
 * e2e/perf.spec.ts reads the entries to say which chart the main thread's long tasks come from.
 */
export function useRenderCost(name: string, minMs = 8): void {
  const start = performance.now();
  useLayoutEffect(() => {
    const end = performance.now();
    if (end - start >= minMs) performance.measure(`render:${name}`, { start, end });
  });
}

/**
 * The previous array when the new one holds the same rows (same keys, same primitive values): a chart that gets
 * the same `data` reference is not redrawn, and recharts does not re-dispatch its data to its store.
 */
export function useStableRows<T extends object>(rows: T[]): T[] {
  const ref = useRef(rows);
  if (ref.current !== rows && !sameRows(ref.current, rows)) ref.current = rows;
  return ref.current;
}

export function sameRows<T extends object>(a: T[], b: T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Record<string, unknown>;
    const y = b[i] as Record<string, unknown>;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    for (const k of kx) if (!Object.is(x[k], y[k])) return false;
  }
  return true;
}

/**
 * Whether the pointer (or the keyboard focus) is on an element: charts mount their recharts <Tooltip> only then, so
 * that the chart updates while results stream in do not run the tooltip's measuring (a forced layout of the page
 * per update in the profiles of e2e/perf.spec.ts).
 */
export function useHover(): [boolean, { onMouseEnter: () => void; onMouseLeave: () => void; onFocus: () => void; onBlur: () => void }] {
  const [hover, setHover] = useState(false);
  const handlers = useRef({
    onMouseEnter: () => setHover(true),
    onMouseLeave: () => setHover(false),
    onFocus: () => setHover(true),
    onBlur: () => setHover(false),
  });
  return [hover, handlers.current];
}
