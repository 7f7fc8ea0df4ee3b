/**
 * Error statistics a kernel computed on the fly (fused into its own pass), keyed by the representation object
 * and valid only for the same input tensor; computeMetrics uses them (once) instead of decoding again. Plain
 * side information: it never leaves the worker that ran the kernel, results are identical with or without it,
 * and it holds neither the representation nor the input tensor alive (weak keys, the tensor by an id).
 */
import type { DenseTensor } from '../model/types';
import type { Compressed } from './types';

export interface ErrStats {
  se: number;
  sig: number;
  mx: number;
  zeros: number;
  distinct: number;
}

const hints = new WeakMap<Compressed, { tensor: number; stats: ErrStats }>();
const ids = new WeakMap<object, number>();
let nextId = 1;

function idOf(data: object): number {
  let id = ids.get(data);
  if (id === undefined) ids.set(data, (id = nextId++));
  return id;
}

export function setHint(repr: Compressed, dense: DenseTensor, stats: ErrStats): void {
  hints.set(repr, { tensor: idOf(dense.data), stats });
}

/** The statistics for this representation of this tensor, consumed (deleted) on use. */
export function getHint(repr: Compressed, dense: DenseTensor): ErrStats | undefined {
  const h = hints.get(repr);
  if (!h || ids.get(dense.data) !== h.tensor) return undefined;
  hints.delete(repr);
  return h.stats;
}
