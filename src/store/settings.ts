/**
 * The optimizer's settings as the page shows them (method, bits, granularity, ...) and their translation into a
 * coremltools-style CompressionPlan: global settings become global_config, per-op-type and per-layer overrides
 * become op_type_configs / op_name_configs (null skips). Joint methods become two steps (prune, then
 * palettize or quantize), as coremltools' joint_compression does.
 */
import type {
  CompressionPlan,
  OpConfig,
  OpLinearQuantizerConfig,
  OpMagnitudePrunerConfig,
  OpPalettizerConfig,
  OptimizationConfig,
  Target,
} from '../core/compress/types';

export type Method = 'palettize' | 'quantize' | 'prune' | 'prune+palettize' | 'prune+quantize';

export interface Settings {
  method: Method;
  /** palettization */
  nbits: number;
  palMode: 'kmeans' | 'uniform' | 'unique';
  palGranularity: 'per_tensor' | 'per_grouped_channel';
  groupSize: number;
  /** linear quantization */
  qDtype: 'int8' | 'uint8' | 'int4' | 'uint4';
  qMode: 'linear_symmetric' | 'linear';
  qGranularity: 'per_tensor' | 'per_channel' | 'per_block';
  blockSize: number;
  /** pruning: target sparsity, or an n:m pattern when nm is set */
  sparsity: number;
  nm: [number, number] | null;
  weightThreshold: number;
  target: Target;
}

export const DEFAULT_SETTINGS: Settings = {
  method: 'palettize',
  nbits: 8,
  palMode: 'kmeans',
  palGranularity: 'per_tensor',
  groupSize: 32,
  qDtype: 'int8',
  qMode: 'linear_symmetric',
  qGranularity: 'per_channel',
  blockSize: 32,
  sparsity: 0.5,
  nm: null,
  weightThreshold: 2048,
  target: 'iOS16',
};

export interface Preset {
  id: string;
  label: string;
  settings: Partial<Settings>;
}

export const PRESETS: Preset[] = [
  { id: 'pal8', label: '8-bit palettization', settings: { method: 'palettize', nbits: 8, palMode: 'kmeans', palGranularity: 'per_tensor', target: 'iOS16' } },
  { id: 'pal6', label: '6-bit palettization', settings: { method: 'palettize', nbits: 6, palMode: 'kmeans', palGranularity: 'per_tensor', target: 'iOS16' } },
  { id: 'q8', label: 'int8 per-channel', settings: { method: 'quantize', qDtype: 'int8', qMode: 'linear_symmetric', qGranularity: 'per_channel', target: 'iOS16' } },
  {
    id: 'pal4g16',
    label: '4-bit grouped LUT, group 16 (iOS18)',
    settings: { method: 'palettize', nbits: 4, palMode: 'kmeans', palGranularity: 'per_grouped_channel', groupSize: 16, target: 'iOS18' },
  },
  {
    id: 'q4b32',
    label: 'int4 per-block 32 (iOS18)',
    settings: { method: 'quantize', qDtype: 'int4', qMode: 'linear_symmetric', qGranularity: 'per_block', blockSize: 32, target: 'iOS18' },
  },
  { id: 'prune50', label: '50% sparsity', settings: { method: 'prune', sparsity: 0.5, nm: null, target: 'iOS16' } },
  {
    id: 'prune50pal4',
    label: '50% sparsity + 4-bit LUT (iOS18)',
    settings: { method: 'prune+palettize', sparsity: 0.5, nm: null, nbits: 4, palMode: 'kmeans', palGranularity: 'per_tensor', target: 'iOS18' },
  },
];

export function applyPreset(base: Settings, p: Preset): Settings {
  return { ...DEFAULT_SETTINGS, weightThreshold: base.weightThreshold, ...p.settings };
}

/** Why an option is not available for the target (formats.md §1.5, §5): undefined when it is. */
export function needsIOS18(s: Settings): string | undefined {
  const pal = s.method === 'palettize' || s.method === 'prune+palettize';
  const q = s.method === 'quantize' || s.method === 'prune+quantize';
  if (pal && s.palGranularity === 'per_grouped_channel') return 'per_grouped_channel palettization needs iOS18';
  if (pal && s.nbits === 3) return '3-bit palettization needs iOS18';
  if (q && (s.qDtype === 'int4' || s.qDtype === 'uint4')) return '4-bit linear quantization needs iOS18';
  if (q && s.qGranularity === 'per_block') return 'per_block quantization needs iOS18';
  if (s.method === 'prune+palettize' || s.method === 'prune+quantize') return 'joint compression needs iOS18';
  return undefined;
}

export const TARGET_RANK: Record<Target, number> = { iOS16: 16, iOS17: 17, iOS18: 18 };

export function palettizer(s: Settings): OpPalettizerConfig {
  return {
    type: 'OpPalettizerConfig',
    mode: s.palMode,
    ...(s.palMode === 'unique' ? {} : { nbits: s.nbits }),
    granularity: s.palGranularity,
    group_size: s.groupSize,
    channel_axis: null,
    cluster_dim: 1,
    enable_per_channel_scale: false,
    lut_dtype: null,
    weight_threshold: s.weightThreshold,
  };
}

export function quantizer(s: Settings): OpLinearQuantizerConfig {
  return {
    type: 'OpLinearQuantizerConfig',
    mode: s.qMode,
    dtype: s.qDtype,
    granularity: s.qGranularity,
    block_size: s.blockSize,
    weight_threshold: s.weightThreshold,
  };
}

export function pruner(s: Settings): OpMagnitudePrunerConfig {
  return s.nm
    ? { type: 'OpMagnitudePrunerConfig', target_sparsity: null, block_size: null, n_m_ratio: s.nm, dim: null, weight_threshold: s.weightThreshold }
    : { type: 'OpMagnitudePrunerConfig', target_sparsity: s.sparsity, block_size: null, n_m_ratio: null, dim: null, weight_threshold: s.weightThreshold };
}

/** The op configs of the steps, first to last. */
export function stepConfigs(s: Settings): OpConfig[] {
  switch (s.method) {
    case 'palettize':
      return [palettizer(s)];
    case 'quantize':
      return [quantizer(s)];
    case 'prune':
      return [pruner(s)];
    case 'prune+palettize':
      return [pruner(s), palettizer(s)];
    case 'prune+quantize':
      return [pruner(s), quantizer(s)];
  }
}

/** A layer or op-type override: skip it, or compress it with other settings (a preset, or the size budget's pick). */
export type Override = { kind: 'skip' } | { kind: 'settings'; label: string; settings: Partial<Settings> };

export function presetOverride(id: string): Override | undefined {
  const p = PRESETS.find((x) => x.id === id);
  return p ? { kind: 'settings', label: p.label, settings: p.settings } : undefined;
}

export function overrideSettings(global: Settings, o: Override): Settings | null {
  if (o.kind === 'skip') return null;
  return { ...DEFAULT_SETTINGS, ...o.settings, weightThreshold: global.weightThreshold, target: global.target };
}

export function overrideLabel(o: Override | undefined): string {
  if (!o) return 'global';
  return o.kind === 'skip' ? 'skip' : o.label;
}

/**
 * The whole plan. The number of steps is the most any setting in use needs; a setting with fewer steps
 * contributes null (no compression) to the later ones.
 */
export function buildPlan(global: Settings, byType: Record<string, Override>, byName: Record<string, Override>): CompressionPlan {
  const g = stepConfigs(global);
  const types = Object.entries(byType).map(([k, o]) => [k, overrideSettings(global, o)] as const);
  const names = Object.entries(byName).map(([k, o]) => [k, overrideSettings(global, o)] as const);
  const stepsOf = (s: Settings | null) => (s ? stepConfigs(s) : []);
  const n = Math.max(g.length, ...types.map(([, s]) => stepsOf(s).length), ...names.map(([, s]) => stepsOf(s).length));
  const steps: OptimizationConfig[] = [];
  for (let i = 0; i < n; i++) {
    const step: OptimizationConfig = { global_config: g[i] ?? null };
    if (types.length) step.op_type_configs = Object.fromEntries(types.map(([k, s]) => [k, stepsOf(s)[i] ?? null]));
    if (names.length) step.op_name_configs = Object.fromEntries(names.map(([k, s]) => [k, stepsOf(s)[i] ?? null]));
    steps.push(step);
  }
  return { target: global.target, steps };
}

/** A short tag for file names: pal4, q8, prune50, prune50.pal4, mixed. */
export function tagFor(global: Settings, overrides: number): string {
  const parts: string[] = [];
  if (global.method.startsWith('prune')) parts.push(global.nm ? `prune${global.nm[0]}of${global.nm[1]}` : `prune${Math.round(global.sparsity * 100)}`);
  if (global.method.endsWith('palettize')) parts.push(global.palMode === 'unique' ? 'palunique' : `pal${global.nbits}${global.palGranularity === 'per_grouped_channel' ? `g${global.groupSize}` : ''}`);
  if (global.method.endsWith('quantize')) parts.push(`q${global.qDtype.replace(/\D/g, '')}${global.qDtype.startsWith('u') ? 'u' : ''}${global.qGranularity === 'per_block' ? `b${global.blockSize}` : ''}`);
  if (overrides > 0) parts.push('mixed');
  return parts.join('.');
}

/** The settings a single op config corresponds to, when the controls can show it (undefined when they cannot). */
export function settingsFromConfig(c: OpConfig): Partial<Settings> | undefined {
  switch (c.type) {
    case 'OpPalettizerConfig':
      if (c.cluster_dim > 1 || c.enable_per_channel_scale || c.lut_dtype) return undefined;
      return { method: 'palettize', palMode: c.mode, nbits: c.nbits ?? 8, palGranularity: c.granularity, groupSize: c.group_size, weightThreshold: c.weight_threshold };
    case 'OpLinearQuantizerConfig':
      if (Array.isArray(c.block_size)) return undefined;
      return { method: 'quantize', qDtype: c.dtype, qMode: c.mode, qGranularity: c.granularity, blockSize: c.block_size, weightThreshold: c.weight_threshold };
    case 'OpMagnitudePrunerConfig':
      if (c.block_size || c.dim != null) return undefined;
      return { method: 'prune', sparsity: c.target_sparsity ?? 0.5, nm: c.n_m_ratio ?? null, weightThreshold: c.weight_threshold };
    default:
      return undefined;
  }
}

function stepsToSettings(cs: (OpConfig | null | undefined)[]): Partial<Settings> | null | undefined {
  const present = cs.filter((c): c is OpConfig => !!c);
  if (present.length === 0) return null;
  const parts = present.map(settingsFromConfig);
  if (parts.some((p) => !p)) return undefined;
  if (parts.length === 1) return parts[0];
  if (parts.length === 2 && parts[0]!.method === 'prune' && (parts[1]!.method === 'palettize' || parts[1]!.method === 'quantize')) {
    return { ...parts[0], ...parts[1], method: parts[1]!.method === 'palettize' ? 'prune+palettize' : 'prune+quantize' };
  }
  return undefined;
}

/**
 * Controls for an imported plan: global settings and overrides. `exact` is false when something in the plan
 * has no control (vector LUTs, per-channel scale, threshold pruning, ...): the plan is then used as imported.
 */
export function settingsFromPlan(plan: CompressionPlan, describe: (c: OpConfig) => string): {
  settings: Settings;
  byType: Record<string, Override>;
  byName: Record<string, Override>;
  exact: boolean;
} {
  let exact = true;
  const g = stepsToSettings(plan.steps.map((s) => s.global_config));
  if (g === undefined) exact = false;
  const settings: Settings = { ...DEFAULT_SETTINGS, ...(g ?? {}), target: plan.target };
  const collect = (pick: (s: OptimizationConfig) => Record<string, OpConfig | null> | undefined) => {
    const keys = new Set(plan.steps.flatMap((s) => Object.keys(pick(s) ?? {})));
    const out: Record<string, Override> = {};
    for (const k of keys) {
      const cs = plan.steps.map((s) => pick(s)?.[k]);
      const p = stepsToSettings(cs);
      if (p === null) out[k] = { kind: 'skip' };
      else if (p === undefined) exact = false;
      else {
        const first = cs.find((c): c is OpConfig => !!c)!;
        out[k] = { kind: 'settings', label: describe(first), settings: p };
      }
    }
    return out;
  };
  return { settings, byType: collect((s) => s.op_type_configs), byName: collect((s) => s.op_name_configs), exact };
}
