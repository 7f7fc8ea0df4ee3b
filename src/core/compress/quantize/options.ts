/** OpLinearQuantizerConfig: coremltools 9 defaults, validation and target rules (formats.md §5.12, §7.4). */
import { ShrinkrayError } from '../../errors';
import type { OpLinearQuantizerConfig, Target } from '../types';

export function linearQuantizerConfig(p: Partial<OpLinearQuantizerConfig> = {}): OpLinearQuantizerConfig {
  const cfg: OpLinearQuantizerConfig = {
    type: 'OpLinearQuantizerConfig',
    mode: p.mode ?? 'linear_symmetric',
    dtype: p.dtype ?? 'int8',
    granularity: p.granularity ?? 'per_channel',
    block_size: p.block_size ?? 32,
    weight_threshold: p.weight_threshold ?? 2048,
  };
  validateLinearQuantizer(cfg);
  return cfg;
}

function bad(msg: string): never {
  throw new ShrinkrayError('invalid-option', `OpLinearQuantizerConfig: ${msg}`);
}

export function validateLinearQuantizer(c: OpLinearQuantizerConfig): void {
  if (c.mode !== 'linear_symmetric' && c.mode !== 'linear') bad(`mode must be linear_symmetric or linear (got "${c.mode}")`);
  if (!['int8', 'uint8', 'int4', 'uint4'].includes(c.dtype)) bad(`dtype must be int8, uint8, int4 or uint4 (got "${c.dtype}")`);
  if (!['per_tensor', 'per_channel', 'per_block'].includes(c.granularity)) {
    bad(`granularity must be per_tensor, per_channel or per_block (got "${c.granularity}")`);
  }
  const bs = c.block_size;
  if (Array.isArray(bs)) {
    if (bs.some((b) => !Number.isInteger(b) || b < 0)) bad('all values in block_size must be non-negative integers');
  } else if (!Number.isInteger(bs) || bs < 0) bad(`block_size must be a non-negative integer (got ${bs})`);
  if (!Number.isInteger(c.weight_threshold) || c.weight_threshold < 0) {
    bad(`"weight_threshold" must be a non-negative integer (got ${c.weight_threshold})`);
  }
}

export function linearQuantizerTargetIssue(c: OpLinearQuantizerConfig, target: Target): string | null {
  if (target === 'iOS18') return null;
  if (c.granularity === 'per_block') return `per_block quantization needs iOS18 (deployment target is ${target})`;
  if (c.dtype === 'int4' || c.dtype === 'uint4') return `${c.dtype} quantization needs iOS18 (deployment target is ${target})`;
  return null;
}

/** Quantized range [qmin, qmax] as coremltools' get_quant_range. */
export function quantRange(dtype: OpLinearQuantizerConfig['dtype'], mode: OpLinearQuantizerConfig['mode']): [number, number] {
  const nbits = dtype.endsWith('4') ? 4 : 8;
  const signed = dtype.startsWith('int');
  const maxq = 2 ** nbits;
  if (!signed) return [0, maxq - 1 - (mode === 'linear_symmetric' ? 1 : 0)];
  return [-maxq / 2 + (mode === 'linear_symmetric' ? 1 : 0), maxq / 2 - 1];
}
