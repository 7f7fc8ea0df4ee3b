/**
 * Totals first: a weight's size after compression from its shape and config alone, before any kernel runs
 * (issue 5: "size is exact and immediate"). The Core ML payload as reprBytes counts it (src/core/compress/metrics.ts):
 * - palettization (k-means or uniform, scalar LUTs, no per-channel scale, no quantized LUT): packed indices
 *   ceil(n·nbits/8) plus G·2^nbits LUT entries in the weight's dtype, G = 1 per tensor or C / group_size: exact;
 * - linear quantization: packed codes plus one scale per block (the quantizer's own block grid) and a zero point
 *   per block where the mode (asymmetric, unsigned) or the target (iOS16/17 always stores one) has it: exact;
 * - magnitude pruning to a target sparsity (unstructured): the 1-bit mask plus the kept values, kept ≈ the count
 *   above the percentile: an estimate (ties at the threshold and zeros already there change it), shown as such.
 * Anything else (vector or grouped-per-channel-scale LUTs, joint forms, NeuralNetwork and ONNX stored forms) has no
 * prediction: its size shows when its result arrives. A job the kernel then skips is replaced by its result.
 */
import type { OpConfig } from '../core/compress/types';
import type { Job } from '../core/engine';
import { quantBlockSizes, quantGrid } from '../core/compress/quantize/quantize';
import { IOS16_LUT_NBITS, PALETTIZE_NBITS } from '../core/compress/palettize/options';
import { numel } from '../core/compress/numeric';
import { packedBytes as packed } from '../core/tensor/pack';

export interface Predicted {
  bytes: number;
  /** true: the kernel's result will have exactly these bytes (unless it skips the weight) */
  exact: boolean;
}

export function predictBytes(job: Job): Predicted | undefined {
  if (job.nn || job.onnx || job.steps.length !== 1) return undefined;
  const n = numel(job.shape);
  const dt = job.dtype === 'fp16' ? 2 : 4;
  const rank = job.shape.length;
  const c: OpConfig = job.steps[0];
  switch (c.type) {
    case 'OpPalettizerConfig': {
      if (c.mode === 'unique' || typeof c.nbits !== 'number' || (c.cluster_dim ?? 1) !== 1 || c.enable_per_channel_scale || c.lut_dtype) return undefined;
      const allowed: readonly number[] = job.target === 'iOS18' ? PALETTIZE_NBITS : IOS16_LUT_NBITS;
      if (!allowed.includes(c.nbits)) return undefined;
      let groups = 1;
      if (c.granularity === 'per_grouped_channel') {
        const raw = c.channel_axis ?? job.ctx.outputAxis;
        if (raw < -rank || raw >= rank) return undefined;
        const C = job.shape[raw < 0 ? raw + rank : raw];
        if (!(c.group_size > 0) || C % c.group_size !== 0) return undefined;
        groups = C / c.group_size;
      }
      return { bytes: packed(n, c.nbits) + groups * (1 << c.nbits) * dt, exact: true };
    }
    case 'OpLinearQuantizerConfig': {
      const blocks = quantBlockSizes(c, job.shape, job.ctx);
      if ('skip' in blocks) return undefined;
      const grid = quantGrid(job.shape, blocks);
      if ('skip' in grid) return undefined;
      const scales = numel(grid);
      const bits = c.dtype.endsWith('4') ? 4 : 8;
      const hasOffset = c.mode === 'linear' || !c.dtype.startsWith('int');
      let bytes = packed(n, bits) + scales * dt;
      if (hasOffset) bytes += packed(scales, bits);
      else if (job.target !== 'iOS18') bytes += scales; // iOS16's constexpr_affine_dequantize needs a zero point
      return { bytes, exact: true };
    }
    case 'OpMagnitudePrunerConfig': {
      if (c.block_size != null || c.n_m_ratio || c.target_sparsity == null) return undefined;
      const s = c.target_sparsity;
      // the elements at or below the s-percentile go (numpy's linear interpolation between ranks ⌊s(n−1)⌋ and +1)
      const pruned = s >= 1 ? n : s <= 0 ? 0 : Math.min(n, Math.floor(s * (n - 1)) + 1);
      return { bytes: packed(n, 1) + (n - pruned) * dt, exact: false };
    }
    default:
      return undefined;
  }
}
