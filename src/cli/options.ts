/**
 * `shrinkray compress` flags → coremltools OptimizationConfig dicts (the same dict form `--config` files
 * use: `{config_type, global_config, op_type_configs?, op_name_configs?}`), one per step, in the order
 * coremltools' joint compression applies them (prune first). Only the flags the user gave are set;
 * defaults and validation belong to src/core/plan.
 */
import type { CompressionPlan, OpConfig } from '../core/compress/types';
import { UsageError, type OptionSpec, type Parsed } from './args';

export const COMPRESS_SPECS: OptionSpec[] = [
  { name: 'output', short: 'o', kind: 'string' },
  { name: 'palettize', kind: 'number' },
  { name: 'mode', kind: 'string' },
  { name: 'granularity', kind: 'string' },
  { name: 'group-size', kind: 'number' },
  { name: 'channel-axis', kind: 'number' },
  { name: 'cluster-dim', kind: 'number' },
  { name: 'per-channel-scale', kind: 'flag' },
  { name: 'lut-dtype', kind: 'string' },
  { name: 'quantize', kind: 'string' },
  { name: 'symmetric', kind: 'flag' },
  { name: 'affine', kind: 'flag' },
  { name: 'per-tensor', kind: 'flag' },
  { name: 'per-channel', kind: 'flag' },
  { name: 'per-block', kind: 'number' },
  { name: 'prune', kind: 'number' },
  { name: 'block-size', kind: 'number' },
  { name: 'nm', kind: 'string' },
  { name: 'threshold', kind: 'number' },
  { name: 'min-sparsity', kind: 'number' },
  { name: 'weight-threshold', kind: 'number' },
  { name: 'config', kind: 'string' },
  { name: 'target', kind: 'string' },
  { name: 'json', kind: 'flag' },
  { name: 'quiet', short: 'q', kind: 'flag' },
  { name: 'help', short: 'h', kind: 'flag' },
];

export const COMPRESS_USAGE = `Usage: shrinkray compress MODEL -o OUT [method options] [--target iOS16|iOS17|iOS18] [--json] [--quiet]

Compresses the weights of MODEL with coremltools' semantics and writes the same format to OUT.

MODEL   an .mlpackage folder, an .mlpackage.zip, an .mlmodel, or an .onnx (external data files beside it)
OUT     X.mlpackage (a folder) or X.mlpackage.zip for an .mlpackage; X.mlmodel; X.onnx; or a .zip of any

Palettization (OpPalettizerConfig):
  --palettize N              nbits: 1, 2, 3, 4, 6 or 8 (omit with --mode unique)
  --mode kmeans|uniform|unique            default kmeans
  --granularity per_tensor|per_grouped_channel   default per_tensor
  --group-size G             channels per LUT group (per_grouped_channel), default 32
  --channel-axis A           axis of the channel groups (default: the weight's output axis)
  --cluster-dim V            vector LUT entries of V values (iOS18)
  --per-channel-scale        enable_per_channel_scale (iOS18)
  --lut-dtype int8|uint8     quantize the LUT itself (iOS18, joint palettize → linear_quantize)

Linear quantization (OpLinearQuantizerConfig):
  --quantize int8|uint8|int4|uint4
  --symmetric | --affine     linear_symmetric (default) or linear (with zero point)
  --per-tensor | --per-channel | --per-block B    default per_channel

Pruning (OpMagnitudePrunerConfig / OpThresholdPrunerConfig):
  --prune S                  target sparsity in [0, 1), e.g. 0.5
  --block-size B             prune blocks of B values along the input axis
  --nm N:M                   n:m structured sparsity, e.g. 2:4
  --threshold T              zero |w| <= T (OpThresholdPrunerConfig)
  --min-sparsity P           minimum_sparsity_percentile for --threshold (default 0.5)
  Combine a pruning option with --palettize or --quantize for joint compression (prune first; iOS18).

Common:
  --weight-threshold N       only compress weights with more than N elements (default 2048)
  --config FILE              a coremltools OptimizationConfig dict (.json, .yaml or .yml); a list of dicts
                             is applied in order as joint compression. Excludes the method options above.
  --target iOS16|iOS17|iOS18 deployment target (default: what the model already needs)
  --json                     print a machine-readable report on stdout
  -q, --quiet                no progress bar, no table (errors still go to stderr)
  -h, --help                 this help

Exit codes: 0 ok, 1 bad input model, 2 bad usage or options, 3 internal error.`;

export type ConfigDict = {
  config_type: string;
  global_config?: Record<string, unknown> | null;
  op_type_configs?: Record<string, Record<string, unknown> | null>;
  op_name_configs?: Record<string, Record<string, unknown> | null>;
};

const PAL_ONLY = ['mode', 'granularity', 'group-size', 'channel-axis', 'cluster-dim', 'per-channel-scale', 'lut-dtype'];
const Q_ONLY = ['symmetric', 'affine', 'per-tensor', 'per-channel', 'per-block'];
const PRUNE_ONLY = ['block-size'];
const THRESHOLD_ONLY = ['min-sparsity'];
const METHOD_FLAGS = ['palettize', 'quantize', 'prune', 'nm', 'threshold', ...PAL_ONLY, ...Q_ONLY, ...PRUNE_ONLY, ...THRESHOLD_ONLY];

function oneOf(name: string, v: unknown, allowed: string[]): string {
  if (typeof v !== 'string' || !allowed.includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got "${v}")`);
  return v;
}

function int(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min} (got ${v})`);
  return v;
}

/** The method steps the flags describe, or undefined when `--config` is used (or nothing was asked). */
export function flagsToDicts(p: Parsed): ConfigDict[] {
  const v = p.values;
  const has = (k: string) => v.has(k);
  if (has('config')) {
    const clash = METHOD_FLAGS.filter(has);
    if (clash.length) throw new UsageError(`--config cannot be combined with --${clash.join(', --')}`);
    return [];
  }
  const pal = has('palettize') || (has('mode') && v.get('mode') === 'unique');
  const quant = has('quantize');
  const pruneKinds = ['prune', 'nm', 'threshold'].filter(has);
  if (pruneKinds.length > 1) throw new UsageError(`choose one of --prune, --nm and --threshold (got --${pruneKinds.join(', --')})`);
  if (pal && quant) {
    throw new UsageError('--palettize and --quantize cannot be combined; to quantize the palette itself use --palettize N --lut-dtype int8');
  }
  for (const [flags, needs, what] of [
    [PAL_ONLY, pal, '--palettize'],
    [Q_ONLY, quant, '--quantize'],
    [PRUNE_ONLY, has('prune'), '--prune'],
    [THRESHOLD_ONLY, has('threshold'), '--threshold'],
  ] as const) {
    const stray = flags.filter(has);
    if (stray.length && !needs) throw new UsageError(`--${stray[0]} needs ${what}`);
  }
  if (!pal && !quant && pruneKinds.length === 0) {
    throw new UsageError('nothing to do: give --palettize, --quantize, --prune, --nm, --threshold or --config');
  }

  const wt = has('weight-threshold') ? { weight_threshold: int('weight-threshold', v.get('weight-threshold'), 0) } : {};
  const steps: ConfigDict[] = [];

  if (has('prune')) {
    const s = v.get('prune') as number;
    if (!(s >= 0 && s < 1)) throw new UsageError(`--prune is a target sparsity in [0, 1) (got ${s}); e.g. --prune 0.5`);
    const g: Record<string, unknown> = { target_sparsity: s, ...wt };
    if (has('block-size')) g.block_size = int('block-size', v.get('block-size'), 1);
    steps.push({ config_type: 'OpMagnitudePrunerConfig', global_config: g });
  } else if (has('nm')) {
    const m = /^(\d+):(\d+)$/.exec(String(v.get('nm')));
    if (!m) throw new UsageError(`--nm expects N:M, e.g. 2:4 (got "${v.get('nm')}")`);
    steps.push({ config_type: 'OpMagnitudePrunerConfig', global_config: { n_m_ratio: [Number(m[1]), Number(m[2])], ...wt } });
  } else if (has('threshold')) {
    const g: Record<string, unknown> = { threshold: v.get('threshold'), ...wt };
    if (has('min-sparsity')) g.minimum_sparsity_percentile = v.get('min-sparsity');
    steps.push({ config_type: 'OpThresholdPrunerConfig', global_config: g });
  }

  if (pal) {
    const g: Record<string, unknown> = { mode: has('mode') ? oneOf('mode', v.get('mode'), ['kmeans', 'uniform', 'unique']) : 'kmeans', ...wt };
    if (has('palettize')) g.nbits = int('palettize', v.get('palettize'), 1);
    if (has('granularity')) g.granularity = oneOf('granularity', v.get('granularity'), ['per_tensor', 'per_grouped_channel']);
    if (has('group-size')) {
      g.group_size = int('group-size', v.get('group-size'), 1);
      if (!has('granularity')) g.granularity = 'per_grouped_channel';
    }
    if (has('channel-axis')) g.channel_axis = int('channel-axis', v.get('channel-axis'), 0);
    if (has('cluster-dim')) g.cluster_dim = int('cluster-dim', v.get('cluster-dim'), 1);
    if (has('per-channel-scale')) g.enable_per_channel_scale = true;
    if (has('lut-dtype')) g.lut_dtype = oneOf('lut-dtype', v.get('lut-dtype'), ['int8', 'uint8']);
    steps.push({ config_type: 'OpPalettizerConfig', global_config: g });
  }

  if (quant) {
    const dtype = oneOf('quantize', v.get('quantize'), ['int8', 'uint8', 'int4', 'uint4']);
    if (has('symmetric') && has('affine')) throw new UsageError('--symmetric and --affine exclude each other');
    const gran = ['per-tensor', 'per-channel', 'per-block'].filter(has);
    if (gran.length > 1) throw new UsageError(`choose one of --per-tensor, --per-channel and --per-block (got --${gran.join(', --')})`);
    const g: Record<string, unknown> = { mode: has('affine') ? 'linear' : 'linear_symmetric', dtype, ...wt };
    if (has('per-tensor')) g.granularity = 'per_tensor';
    if (has('per-channel')) g.granularity = 'per_channel';
    if (has('per-block')) {
      g.granularity = 'per_block';
      g.block_size = int('per-block', v.get('per-block'), 1);
    }
    steps.push({ config_type: 'OpLinearQuantizerConfig', global_config: g });
  }
  return steps;
}

/** --weight-threshold on top of a --config: set on every op config of every step. */
export function withWeightThreshold(raw: unknown, n: number): unknown {
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--weight-threshold must be an integer >= 0 (got ${n})`);
  const patchCfg = (c: unknown) => (c && typeof c === 'object' && !Array.isArray(c) ? { ...(c as object), weight_threshold: n } : c);
  const patchMap = (m: unknown) =>
    m && typeof m === 'object' && !Array.isArray(m) ? Object.fromEntries(Object.entries(m as object).map(([k, c]) => [k, patchCfg(c)])) : m;
  const patchStep = (d: unknown) => {
    if (!d || typeof d !== 'object' || Array.isArray(d)) return d;
    const o = { ...(d as Record<string, unknown>) };
    if ('global_config' in o) o.global_config = patchCfg(o.global_config);
    if ('op_type_configs' in o) o.op_type_configs = patchMap(o.op_type_configs);
    if ('op_name_configs' in o) o.op_name_configs = patchMap(o.op_name_configs);
    return o;
  };
  if (Array.isArray(raw)) return raw.map(patchStep);
  if (raw && typeof raw === 'object' && Array.isArray((raw as { steps?: unknown }).steps)) {
    return { ...(raw as object), steps: (raw as { steps: unknown[] }).steps.map(patchStep) };
  }
  return patchStep(raw);
}

/** A short tag for the output name, e.g. `pal4`, `q8`, `sp50.pal4`. */
export function planTag(plan: CompressionPlan): string {
  const tags = plan.steps.map((step) => {
    const c: OpConfig | null | undefined =
      step.global_config ?? [...Object.values(step.op_type_configs ?? {}), ...Object.values(step.op_name_configs ?? {})].find((x) => x);
    if (!c) return 'opt';
    switch (c.type) {
      case 'OpPalettizerConfig':
        return c.mode === 'unique' ? 'palu' : `pal${c.nbits ?? ''}`;
      case 'OpLinearQuantizerConfig':
        return `q${c.dtype.replace('int', '')}`;
      case 'OpMagnitudePrunerConfig':
        return c.n_m_ratio ? `nm${c.n_m_ratio.join('of')}` : `sp${Math.round((c.target_sparsity ?? 0) * 100)}`;
      case 'OpThresholdPrunerConfig':
        return 'spt';
      case 'NNQuantizeConfig':
        return `nn${c.nbits}`;
    }
  });
  return tags.join('.') || 'opt';
}
