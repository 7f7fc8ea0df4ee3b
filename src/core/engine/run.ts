/** In-process runner for the CLI and tests: one job after another, cancellable, with progress. */
import { ShrinkrayError } from '../errors';
import type { LoadedModel } from '../model/types';
import type { CompressionPlan, WeightResult } from '../compress/types';
import { selectJobs } from './select';
import { compressJob } from './job';

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Throws 'no-weights' for a model without compressible weights (runPlan and the streaming runner). */
export function requireWeights(model: LoadedModel): void {
  if (model.weights.length === 0) {
    throw new ShrinkrayError(
      'no-weights',
      `${model.summary.fileName}: weight compression is not applicable to this model (${model.summary.modelType}): it has no compressible weights`,
      model.summary.fileName,
    );
  }
}

/** The results in the model's weight order. */
export function inWeightOrder(model: LoadedModel, results: Map<string, WeightResult>): Map<string, WeightResult> {
  const ordered = new Map<string, WeightResult>();
  for (const w of model.weights) {
    const r = results.get(w.id);
    if (r) ordered.set(w.id, r);
  }
  return ordered;
}

export async function runPlan(model: LoadedModel, plan: CompressionPlan, opts: RunOptions = {}): Promise<Map<string, WeightResult>> {
  requireWeights(model);
  const { jobs, skipped } = selectJobs(model, plan);
  const out = new Map<string, WeightResult>();
  for (const s of skipped) out.set(s.id, s);
  const total = jobs.length;
  opts.onProgress?.(0, total);
  let done = 0;
  for (const job of jobs) {
    if (opts.signal?.aborted) throw new ShrinkrayError('cancelled', 'compression cancelled');
    const dense = await model.readDense(job.id);
    if (opts.signal?.aborted) throw new ShrinkrayError('cancelled', 'compression cancelled');
    out.set(job.id, compressJob(dense, job));
    done++;
    opts.onProgress?.(done, total);
  }
  return inWeightOrder(model, out);
}
