/** OpMagnitudePrunerConfig / OpThresholdPrunerConfig: coremltools 9 defaults and validation (formats.md §7.4). */
import { ShrinkrayError } from '../../errors';
import type { OpMagnitudePrunerConfig, OpThresholdPrunerConfig } from '../types';

function bad(cls: string, msg: string): never {
  throw new ShrinkrayError('invalid-option', `${cls}: ${msg}`);
}

export function thresholdPrunerConfig(p: Partial<OpThresholdPrunerConfig> = {}): OpThresholdPrunerConfig {
  const cfg: OpThresholdPrunerConfig = {
    type: 'OpThresholdPrunerConfig',
    threshold: p.threshold ?? 1e-12,
    minimum_sparsity_percentile: p.minimum_sparsity_percentile ?? 0.5,
    weight_threshold: p.weight_threshold ?? 2048,
  };
  validateThresholdPruner(cfg);
  return cfg;
}

export function validateThresholdPruner(c: OpThresholdPrunerConfig): void {
  const C = 'OpThresholdPrunerConfig';
  if (typeof c.threshold !== 'number' || !(c.threshold >= 0)) bad(C, `invalid "threshold" ${c.threshold}: needs to be in [0, inf)`);
  const m = c.minimum_sparsity_percentile;
  if (typeof m !== 'number' || !(m >= 0 && m <= 1)) bad(C, `invalid "minimum_sparsity_percentile" ${m}: needs to be in [0, 1]`);
  if (!Number.isInteger(c.weight_threshold) || c.weight_threshold < 0) bad(C, `"weight_threshold" must be a non-negative integer (got ${c.weight_threshold})`);
}

export function magnitudePrunerConfig(p: Partial<OpMagnitudePrunerConfig> = {}): OpMagnitudePrunerConfig {
  const cfg: OpMagnitudePrunerConfig = {
    type: 'OpMagnitudePrunerConfig',
    target_sparsity: p.target_sparsity ?? null,
    block_size: p.block_size ?? null,
    n_m_ratio: p.n_m_ratio ?? null,
    dim: p.dim ?? null,
    weight_threshold: p.weight_threshold ?? 2048,
  };
  validateMagnitudePruner(cfg);
  // coremltools __attrs_post_init__: default dim
  if (cfg.block_size != null && cfg.dim == null) cfg.dim = 0;
  if (cfg.n_m_ratio != null && cfg.dim == null) cfg.dim = 1;
  return cfg;
}

export function validateMagnitudePruner(c: OpMagnitudePrunerConfig): void {
  const C = 'OpMagnitudePrunerConfig';
  const ts = c.target_sparsity;
  const nm = c.n_m_ratio;
  if ((ts == null) === (nm == null)) bad(C, 'either "target_sparsity" or "n_m_ratio" needs to be set; they cannot be set at the same time');
  if (ts != null && (typeof ts !== 'number' || !(ts >= 0 && ts <= 1))) bad(C, `invalid "target_sparsity" ${ts}: needs to be in [0, 1]`);
  if (c.block_size != null) {
    if (nm != null) bad(C, '"block_size" and "n_m_ratio" cannot be set at the same time');
    if (!Number.isInteger(c.block_size) || c.block_size <= 1) bad(C, `"block_size" must be an integer > 1 (got ${c.block_size})`);
  }
  if (nm != null) {
    if (!Array.isArray(nm) || nm.length !== 2 || !nm.every((x) => Number.isInteger(x) && x >= 0) || nm[0] > nm[1] || nm[1] < 1) {
      bad(C, `"n_m_ratio" must be two integers (n, m) with n <= m (got ${JSON.stringify(nm)})`);
    }
  }
  if (c.dim != null) {
    if (c.block_size == null && nm == null) bad(C, '"dim" can only be set along with "block_size" or "n_m_ratio"');
    if (c.dim !== 0 && c.dim !== 1) bad(C, `"dim" must be 0 or 1 (got ${c.dim})`);
  }
  if (!Number.isInteger(c.weight_threshold) || c.weight_threshold < 0) bad(C, `"weight_threshold" must be a non-negative integer (got ${c.weight_threshold})`);
}

/** Structured modes (block / n:m) apply only to conv and linear weights. */
export function isStructured(c: OpMagnitudePrunerConfig): boolean {
  return c.block_size != null || c.n_m_ratio != null;
}
