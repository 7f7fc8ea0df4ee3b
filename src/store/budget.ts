/**
 * The size budget: per layer, a few candidate encodings (keep as is, palettize with 1..8 bits, int8), each
 * with its exact bytes and its error; choose one per layer so that the total bytes fit the budget and the
 * total size-weighted error is least. A multiple-choice knapsack solved exactly by dynamic programming over
 * bytes counted in small units (each option's bytes rounded up to a unit, so the chosen total never exceeds
 * the budget).
 *
 * The error of an option is count × MSE / mean(w²), i.e. the layer's element count times its relative
 * error (10^(-SNR/10)): scale-free across layers, and weighted by size as the issue asks.
 */

export interface BudgetOption {
  /** what to apply for this layer: an opaque id the caller maps back (e.g. 'pal4', 'q8', 'keep') */
  id: string;
  bytes: number;
  error: number;
}

export interface BudgetLayer {
  id: string;
  options: BudgetOption[];
}

export interface BudgetPick {
  /** layer id → option id */
  choice: Map<string, string>;
  bytes: number;
  error: number;
}

export function relativeError(count: number, snrDb: number): number {
  if (!Number.isFinite(snrDb)) return snrDb > 0 ? 0 : count;
  return count * Math.pow(10, -snrDb / 10);
}

/**
 * Picks one option per layer with Σbytes ≤ budget and least Σerror. Returns undefined when even the smallest
 * option of every layer does not fit. `units` bounds the DP table (bytes are counted in ceil(budget/units)).
 */
export function solveBudget(layers: BudgetLayer[], budget: number, units = 4000): BudgetPick | undefined {
  const minTotal = layers.reduce((a, l) => a + Math.min(...l.options.map((o) => o.bytes)), 0);
  if (minTotal > budget) return undefined;
  const unit = Math.max(1, Math.ceil(budget / units));
  const cap = Math.floor(budget / unit);
  const L = layers.length;
  // best[c] = least error using the layers so far with total units ≤ c
  let best = new Float64Array(cap + 1);
  const choice: Int16Array[] = [];
  for (let li = 0; li < L; li++) {
    const opts = layers[li].options;
    const next = new Float64Array(cap + 1).fill(Infinity);
    const pick = new Int16Array(cap + 1).fill(-1);
    for (let oi = 0; oi < opts.length; oi++) {
      const w = Math.ceil(opts[oi].bytes / unit);
      const e = opts[oi].error;
      for (let c = w; c <= cap; c++) {
        const v = best[c - w] + e;
        if (v < next[c]) {
          next[c] = v;
          pick[c] = oi;
        }
      }
    }
    choice.push(pick);
    best = next;
  }
  if (!Number.isFinite(best[cap])) {
    // rounding up made it infeasible though the exact sizes fit: take the smallest option everywhere
    const m = new Map(layers.map((l) => [l.id, [...l.options].sort((a, b) => a.bytes - b.bytes)[0].id]));
    return total(layers, m);
  }
  const m = new Map<string, string>();
  let c = cap;
  for (let li = L - 1; li >= 0; li--) {
    const oi = choice[li][c];
    const o = layers[li].options[oi];
    m.set(layers[li].id, o.id);
    c -= Math.ceil(o.bytes / unit);
  }
  return total(layers, m);
}

function total(layers: BudgetLayer[], m: Map<string, string>): BudgetPick {
  let bytes = 0;
  let error = 0;
  for (const l of layers) {
    const o = l.options.find((x) => x.id === m.get(l.id))!;
    bytes += o.bytes;
    error += o.error;
  }
  return { choice: m, bytes, error };
}

/** Pareto frontier (least error for each size) of points, sorted by size. */
export function paretoFrontier<T extends { bytes: number; error: number }>(points: T[]): T[] {
  const s = [...points].sort((a, b) => a.bytes - b.bytes || a.error - b.error);
  const out: T[] = [];
  let bestErr = Infinity;
  for (const p of s) {
    if (p.error < bestErr) {
      out.push(p);
      bestErr = p.error;
    }
  }
  return out;
}
