/**
 * Error statistics a kernel computed on the fly (fused into its own pass), keyed by the representation object
 * and valid only for the same input tensor; computeMetrics uses them instead of decoding again. Plain side
 * information: it never leaves the worker that ran the kernel, and results are identical with or without it.
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

const hints = new WeakMap<Compressed, { data: DenseTensor['data']; stats: ErrStats }>();

export function setHint(repr: Compressed, dense: DenseTensor, stats: ErrStats): void {
  hints.set(repr, { data: dense.data, stats });
}

export function getHint(repr: Compressed, dense: DenseTensor): ErrStats | undefined {
  const h = hints.get(repr);
  return h && h.data === dense.data ? h.stats : undefined;
}
