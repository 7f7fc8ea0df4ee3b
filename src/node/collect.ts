/**
 * Node-only: a forced garbage collection for the streaming runner (StreamOptions.collect), as test runners obtain
 * one (the --expose-gc flag set at run time, the gc function taken from a fresh context). Undefined when the
 * runtime refuses.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cached: (() => void) | null | undefined;

export function forcedCollector(): (() => void) | undefined {
  if (cached === undefined) {
    try {
      const g = (globalThis as { gc?: () => void }).gc ?? (setFlagsFromString('--expose-gc'), runInNewContext('gc'));
      cached = typeof g === 'function' ? () => g() : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
