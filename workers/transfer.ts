/** The distinct ArrayBuffers behind the typed arrays of a compressed representation (for Comlink.transfer). */
import type { Compressed } from '../src/core/compress/types';

export function reprBuffers(r: Compressed | undefined, out = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (!r) return [...out];
  const visit = (v: unknown, depth: number) => {
    if (!v || typeof v !== 'object' || depth > 4) return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) out.add(v.buffer);
      return;
    }
    if (Array.isArray(v)) return;
    for (const x of Object.values(v)) visit(x, depth + 1);
  };
  visit(r, 0);
  return [...out];
}
