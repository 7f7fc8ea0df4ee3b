/**
 * One weight's candidate results in one call: the size budget's per-layer curve (k-means palettization at each
 * bit width, int8, …) from one read of the tensor. Plain per-tensor k-means palettization jobs of a Core ML
 * model share one histogram (palettizeCurve); every other job (int8, grouped LUTs, ONNX byte counts, NN models)
 * runs the engine's compressJob on the same tensor. Results carry numbers only, no representation.
 */
import type { OpPalettizerConfig, WeightResult } from '../src/core/compress/types';
import { compressJob, type Job } from '../src/core/engine/job';
import type { DenseTensor } from '../src/core/model/types';
import { palettizeCurve } from '../src/core/compress/palettize/curve';

/** A job palettizeCurve answers exactly: one per-tensor scalar k-means step, Core ML bytes, nothing else. */
export function isCurveJob(job: Job): boolean {
  if (job.nn || job.onnx || job.steps.length !== 1) return false;
  const c = job.steps[0];
  if (c.type !== 'OpPalettizerConfig') return false;
  const p = c as OpPalettizerConfig;
  return (
    p.mode === 'kmeans' &&
    p.granularity === 'per_tensor' &&
    (p.cluster_dim ?? 1) === 1 &&
    !p.enable_per_channel_scale &&
    !p.lut_dtype &&
    typeof p.nbits === 'number' &&
    p.nbits >= 1 &&
    p.nbits <= 8
  );
}

function lite(r: WeightResult): WeightResult {
  const { repr: _drop, ...rest } = r;
  return rest;
}

/** Results of `jobs` (all for the weight `dense` holds), in the same order. */
export function curveResults(dense: DenseTensor, jobs: Job[]): WeightResult[] {
  const out: (WeightResult | undefined)[] = new Array(jobs.length);
  const n = dense.data.length;
  const fast: number[] = [];
  jobs.forEach((j, i) => {
    const matches = j.dtype === dense.dtype && j.shape.reduce((a, b) => a * b, 1) === n;
    if (matches && isCurveJob(j)) fast.push(i);
  });
  if (fast.length) {
    const bits = fast.map((i) => (jobs[i].steps[0] as OpPalettizerConfig).nbits!);
    const pts = palettizeCurve(dense, bits);
    const before = n * (dense.dtype === 'fp16' ? 2 : 4);
    fast.forEach((i, k) => {
      const p = pts[k];
      out[i] = {
        id: jobs[i].id,
        status: 'compressed',
        label: jobs[i].label,
        bytesBefore: before,
        bytesAfter: p.bytes,
        mse: p.mse,
        snrDb: p.snrDb,
        maxAbsErr: p.maxAbsErr,
        sparsity: p.sparsity,
        distinct: p.distinct,
        bitsPerWeight: n ? (p.bytes * 8) / n : 0,
      };
    });
  }
  return jobs.map((j, i) => out[i] ?? lite(compressJob(dense, j)));
}
