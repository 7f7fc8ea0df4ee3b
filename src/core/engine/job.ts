/**
 * Jobs: one weight, its resolved configs (one per plan step that applies), channel axes and target; plain
 * data, structured-clonable for Web Workers. compressJob is pure and synchronous.
 */
import type { DenseTensor, WeightInfo } from '../model/types';
import type {
  Compressed,
  LutRepr,
  NNQuantizeConfig,
  OpConfig,
  SparseRepr,
  Target,
  WeightContext,
  WeightResult,
} from '../compress/types';
import { palettize } from '../compress/palettize/palettize';
import { IOS16_LUT_NBITS, PALETTIZE_NBITS } from '../compress/palettize/options';
import { quantize } from '../compress/quantize/quantize';
import { pruneMagnitude, pruneThreshold } from '../compress/prune/prune';
import { isStructured } from '../compress/prune/options';
import { prunePalettize, pruneQuantize, quantizeLut, attachLut } from '../compress/joint';
import { computeMetrics } from '../compress/metrics';
import { compressNN } from '../compress/nn/index';
import { canonical } from '../plan/resolve';
import { onnxStoredBytes, type OnnxByteContext } from '../formats/onnx/emit-weight';

export interface Job {
  id: string;
  name: string;
  dtype: 'fp16' | 'fp32';
  shape: number[];
  target: Target;
  ctx: WeightContext;
  /** resolved configs in plan order */
  steps: OpConfig[];
  /** structured pruning allowed (conv / linear weight, or the const is named in op_name_configs) */
  structuredOk: boolean;
  /** conv groups of the consumer (vector palettization check) */
  convGroups: number;
  /** neural-network path: D's kernels */
  nn?: { info: WeightInfo; config: NNQuantizeConfig };
  bytesBefore: number;
  label: string;
  /**
   * ONNX models: the facts the writer's stored form depends on, so that bytesAfter is what the written
   * .onnx holds for this weight (onnxStoredBytes) rather than the Core ML payload.
   */
  onnx?: OnnxByteContext;
}

/** Cache key: same weight, same configs, same axes and target → same result. */
export function jobKey(job: Job): string {
  const steps = job.nn ? [canonical(job.nn.config)] : job.steps.map(canonical);
  const fmt = job.onnx ? `|onnx${job.onnx.opset},${job.onnx.ir},${job.onnx.outDt},${job.onnx.inSubgraph ? 1 : 0}` : '';
  return `${job.id}|${job.target}|${job.ctx.outputAxis},${job.ctx.inputAxis}|${job.structuredOk ? 1 : 0}|${steps.join('+')}${fmt}`;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

export function configLabel(c: OpConfig): string {
  switch (c.type) {
    case 'OpPalettizerConfig': {
      const parts = ['palettize', c.mode];
      if (c.nbits) parts.push(`${c.nbits}-bit`);
      parts.push(c.granularity === 'per_grouped_channel' ? `per_grouped_channel ${c.group_size}` : 'per_tensor');
      if (c.cluster_dim > 1) parts.push(`vector ${c.cluster_dim}`);
      if (c.enable_per_channel_scale) parts.push('+ per-channel scale');
      if (c.lut_dtype) parts.push(`+ ${c.lut_dtype} LUT`);
      return parts.join(' ');
    }
    case 'OpLinearQuantizerConfig': {
      const g = c.granularity === 'per_block' ? `per_block ${Array.isArray(c.block_size) ? `[${c.block_size}]` : c.block_size}` : c.granularity;
      return `quantize ${c.dtype} ${c.mode} ${g}`;
    }
    case 'OpMagnitudePrunerConfig':
      if (c.n_m_ratio) return `prune ${c.n_m_ratio[0]}:${c.n_m_ratio[1]}`;
      return `prune ${pct(c.target_sparsity ?? 0)} magnitude${c.block_size ? ` block ${c.block_size}` : ''}`;
    case 'OpThresholdPrunerConfig':
      return `prune |w| <= ${c.threshold}`;
    case 'NNQuantizeConfig':
      return `nn ${c.quantization_mode} ${c.nbits}-bit`;
  }
}

export function skippedResult(id: string, label: string, bytes: number, reason: string): WeightResult {
  return {
    id,
    status: 'skipped',
    reason,
    label,
    bytesBefore: bytes,
    bytesAfter: bytes,
    mse: 0,
    snrDb: Infinity,
    maxAbsErr: 0,
    sparsity: 0,
    distinct: 0,
    bitsPerWeight: 0,
  };
}

function done(dense: DenseTensor, job: Job, repr: Compressed, notes: string[]): WeightResult {
  const m = computeMetrics(dense, repr, job.target);
  if (job.onnx) {
    // the ONNX writer's forms (opset-dependent) instead of the Core ML payload; a representation with no
    // ONNX form in this opset throws here and the weight is reported skipped with the writer's reason
    m.bytesAfter = onnxStoredBytes(repr, dense.data.length, job.onnx, job.name, 'ONNX');
    m.bitsPerWeight = dense.data.length ? (m.bytesAfter * 8) / dense.data.length : 0;
  }
  const r: WeightResult = { id: job.id, status: 'compressed', repr, label: job.label, ...m };
  if (notes.length) r.reason = notes.join('; ');
  return r;
}

function skip(dense: DenseTensor, job: Job, reason: string): WeightResult {
  // the weight stays as it is stored
  const r = skippedResult(job.id, job.label, job.bytesBefore, reason);
  r.bitsPerWeight = dense.dtype === 'fp16' ? 16 : 32;
  return r;
}

export function compressJob(dense: DenseTensor, job: Job): WeightResult {
  const n = job.shape.reduce((a, b) => a * b, 1);
  if (dense.data.length !== n || dense.dtype !== job.dtype) {
    return skip(dense, job, `the tensor read (${dense.dtype}, ${dense.data.length} values) does not match the weight (${job.dtype} ${JSON.stringify(job.shape)})`);
  }
  try {
    return compressSteps(dense, job);
  } catch (e) {
    // one weight's failure must not abort the whole model: report it on that weight
    return skip(dense, job, `compression failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function compressSteps(dense: DenseTensor, job: Job): WeightResult {
  if (job.nn) {
    const repr = compressNN(dense, job.nn.info, job.nn.config);
    return done(dense, job, repr, []);
  }
  const notes: string[] = [];
  let repr: Compressed | null = null;
  const allowedNbits = job.target === 'iOS18' ? PALETTIZE_NBITS : IOS16_LUT_NBITS;
  for (const cfg of job.steps) {
    switch (cfg.type) {
      case 'OpThresholdPrunerConfig':
      case 'OpMagnitudePrunerConfig': {
        if (repr) {
          notes.push(`${configLabel(cfg)} after ${repr.kind} compression is not supported; step skipped`);
          break;
        }
        if (cfg.type === 'OpMagnitudePrunerConfig' && isStructured(cfg) && !job.structuredOk) {
          notes.push('block / n:m pruning applies only to conv and linear weights (op not supported)');
          break;
        }
        const r = cfg.type === 'OpThresholdPrunerConfig' ? pruneThreshold(dense, cfg) : pruneMagnitude(dense, cfg);
        if ('skip' in r) notes.push(r.skip);
        else repr = r;
        break;
      }
      case 'OpPalettizerConfig': {
        if (cfg.cluster_dim > 1 && job.convGroups > 1) {
          const eff = job.shape.slice();
          eff[0] = Math.floor(eff[0] / job.convGroups);
          const ca = cfg.granularity === 'per_grouped_channel' && cfg.channel_axis != null ? cfg.channel_axis : job.ctx.outputAxis;
          const a = ca < 0 ? ca + eff.length : ca;
          if (eff[a] % cfg.cluster_dim !== 0) {
            notes.push(`cluster_dim ${cfg.cluster_dim} does not divide the channels of each conv group`);
            break;
          }
        }
        let lut: LutRepr | SparseRepr | null = null;
        if (!repr) {
          const r = palettize(dense, cfg, job.ctx, { allowedNbits });
          if ('skip' in r) notes.push(r.skip);
          else lut = r;
        } else if (repr.kind === 'sparse' && !repr.inner) {
          const r = prunePalettize(dense, repr, cfg, job.ctx, { allowedNbits });
          if ('skip' in r) notes.push(r.skip);
          else lut = r;
        } else notes.push(`palettization after ${repr.kind} compression is not supported; step skipped`);
        if (lut && cfg.lut_dtype) lut = applyLutQuant(dense, lut, { mode: 'linear_symmetric', dtype: cfg.lut_dtype }, notes);
        if (lut) repr = lut;
        break;
      }
      case 'OpLinearQuantizerConfig': {
        if (!repr) {
          const r = quantize(dense, cfg, job.ctx);
          if ('skip' in r) notes.push(r.skip);
          else repr = r;
        } else if (repr.kind === 'sparse' && !repr.inner) {
          const r = pruneQuantize(dense, repr, cfg, job.ctx);
          if ('skip' in r) notes.push(r.skip);
          else repr = r;
        } else if (repr.kind === 'lut' || (repr.kind === 'sparse' && repr.inner?.kind === 'lut')) {
          if (cfg.granularity !== 'per_tensor') notes.push('quantizing a LUT needs per_tensor granularity; step skipped');
          else repr = applyLutQuant(dense, repr, cfg, notes);
        } else notes.push(`quantization after ${repr.kind} compression is not supported; step skipped`);
        break;
      }
      case 'NNQuantizeConfig':
        notes.push('neural-network quantization applies to neural-network models only');
        break;
    }
  }
  if (!repr) return skip(dense, job, notes.join('; ') || 'no step applied');
  return done(dense, job, repr, notes);
}

function applyLutQuant(
  dense: DenseTensor,
  r: LutRepr | SparseRepr,
  cfg: { mode: 'linear_symmetric' | 'linear'; dtype: 'int8' | 'uint8' | 'int4' | 'uint4' },
  notes: string[],
): LutRepr | SparseRepr {
  if (r.kind === 'lut') {
    const q = quantizeLut(r, cfg, dense);
    if ('skip' in q) {
      notes.push(q.skip);
      return r;
    }
    return q;
  }
  const inner = r.inner as LutRepr;
  // joint prune + palettize: quantize the LUT; indices of the nonzeros are kept
  const q = quantizeLut(inner, cfg, null);
  if ('skip' in q) {
    notes.push(q.skip);
    return r;
  }
  return attachLutQuant(r, q);
}

function attachLutQuant(sp: SparseRepr, inner: LutRepr): SparseRepr {
  const base: SparseRepr = { ...sp, inner: undefined };
  const full = attachLut(base, { ...inner, indices: expand(inner.indices, sp.mask) });
  return full;
}

function expand(codes: Uint8Array, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  let j = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i] = codes[j++];
  return out;
}
