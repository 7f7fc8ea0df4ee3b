/** OpPalettizerConfig: coremltools 9 defaults, validation and deployment-target rules (formats.md §5.12, §7.4). */
import { ShrinkrayError } from '../../errors';
import type { OpPalettizerConfig, Target } from '../types';

export const PALETTIZE_NBITS = [1, 2, 3, 4, 6, 8] as const;
export const IOS16_LUT_NBITS = [1, 2, 4, 6, 8] as const;

export function palettizerConfig(p: Partial<OpPalettizerConfig> = {}): OpPalettizerConfig {
  const cfg: OpPalettizerConfig = {
    type: 'OpPalettizerConfig',
    mode: p.mode ?? 'kmeans',
    granularity: p.granularity ?? 'per_tensor',
    group_size: p.group_size ?? 32,
    channel_axis: p.channel_axis ?? null,
    cluster_dim: p.cluster_dim ?? 1,
    enable_per_channel_scale: p.enable_per_channel_scale ?? false,
    lut_dtype: p.lut_dtype ?? null,
    weight_threshold: p.weight_threshold ?? 2048,
  };
  if (p.nbits !== undefined && p.nbits !== null) cfg.nbits = p.nbits;
  validatePalettizer(cfg);
  return cfg;
}

function bad(msg: string): never {
  throw new ShrinkrayError('invalid-option', `OpPalettizerConfig: ${msg}`);
}

export function validatePalettizer(c: OpPalettizerConfig): void {
  if (!['kmeans', 'uniform', 'unique'].includes(c.mode)) bad(`mode must be kmeans, uniform or unique (got "${c.mode}")`);
  if (c.mode !== 'unique') {
    if (c.nbits === undefined || c.nbits === null) bad(`"nbits" must be provided for ${c.mode} mode`);
    if (!(PALETTIZE_NBITS as readonly number[]).includes(c.nbits)) {
      bad(`nbits must be one of ${PALETTIZE_NBITS.join(', ')} (got ${c.nbits})`);
    }
  } else if (c.nbits !== undefined && c.nbits !== null) {
    bad('"nbits" must NOT be provided for unique mode');
  }
  if (c.granularity !== 'per_tensor' && c.granularity !== 'per_grouped_channel') {
    bad(`granularity must be per_tensor or per_grouped_channel (got "${c.granularity}")`);
  }
  if (!Number.isInteger(c.group_size) || c.group_size < 1) bad(`group_size must be a positive integer (got ${c.group_size})`);
  if (!Number.isInteger(c.cluster_dim) || c.cluster_dim < 1) bad(`cluster_dim must be a positive integer (got ${c.cluster_dim})`);
  if (c.cluster_dim > 1 && c.mode === 'uniform') bad('vector palettization (cluster_dim > 1) does not support uniform mode');
  if (c.channel_axis !== undefined && c.channel_axis !== null && !Number.isInteger(c.channel_axis)) {
    bad(`channel_axis must be an integer (got ${c.channel_axis})`);
  }
  if (c.lut_dtype && c.lut_dtype !== 'int8' && c.lut_dtype !== 'uint8') bad(`lut_dtype must be int8 or uint8 (got ${c.lut_dtype})`);
  if (!Number.isInteger(c.weight_threshold) || c.weight_threshold < 0) {
    bad(`"weight_threshold" must be a non-negative integer (got ${c.weight_threshold})`);
  }
}

/** The first option that the target cannot express, as a sentence; null when legal. */
export function palettizerTargetIssue(c: OpPalettizerConfig, target: Target): string | null {
  if (target === 'iOS18') return null;
  const need = (what: string) => `${what} needs iOS18 (deployment target is ${target})`;
  if (c.granularity === 'per_grouped_channel') return need('per_grouped_channel');
  if (c.cluster_dim > 1) return need('vector palettization (cluster_dim > 1)');
  if (c.enable_per_channel_scale) return need('enable_per_channel_scale');
  if (c.nbits === 3) return need('3-bit palettization');
  if (c.lut_dtype) return need(`a ${c.lut_dtype} LUT`);
  return null;
}
