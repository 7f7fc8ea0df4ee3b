import { useEffect, useLayoutEffect, useRef, useState } from 'react';

/**
 * The value, updated at most once per `ms` (trailing). Each chart uses its own delay, so that their re-renders
 * land as separate short tasks instead of one long commit of every chart at once.
 */
export function useThrottled<T>(value: T, ms: number): T {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  const latest = useRef(value);
  latest.current = value;
  useEffect(() => {
    if (Object.is(value, shown)) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      setShown(() => latest.current);
    }, wait);
    return () => clearTimeout(t);
  }, [value, shown, ms]);
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
