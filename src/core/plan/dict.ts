/**
 * The coremltools dict form of an OptimizationConfig (OptimizationConfig.from_dict / from_yaml):
 * keys config_type, global_config, op_type_configs, op_name_configs; each op config is a dict of that class's
 * fields, with an optional per-entry config_type overriding the top-level one; null disables. Read and written
 * as JSON or YAML. Shrinkray's plan of several steps is a list of such dicts (one per joint step) plus target.
 */
import YAML from 'yaml';
import { ShrinkrayError } from '../errors';
import type { CompressionPlan, OpConfig, OptimizationConfig, Target } from '../compress/types';
import { palettizerConfig } from '../compress/palettize/options';
import { linearQuantizerConfig } from '../compress/quantize/options';
import { magnitudePrunerConfig, thresholdPrunerConfig } from '../compress/prune/options';

export type ConfigType = 'OpPalettizerConfig' | 'OpLinearQuantizerConfig' | 'OpMagnitudePrunerConfig' | 'OpThresholdPrunerConfig';

const FIELDS: Record<ConfigType, string[]> = {
  OpPalettizerConfig: ['mode', 'nbits', 'granularity', 'group_size', 'channel_axis', 'cluster_dim', 'enable_per_channel_scale', 'num_kmeans_workers', 'weight_threshold'],
  OpLinearQuantizerConfig: ['mode', 'dtype', 'granularity', 'block_size', 'weight_threshold'],
  OpMagnitudePrunerConfig: ['target_sparsity', 'block_size', 'n_m_ratio', 'dim', 'weight_threshold'],
  OpThresholdPrunerConfig: ['threshold', 'minimum_sparsity_percentile', 'weight_threshold'],
};

function bad(msg: string): never {
  throw new ShrinkrayError('invalid-option', msg);
}

function lower(v: unknown): unknown {
  return typeof v === 'string' ? v.toLowerCase() : v;
}

/** One op config from its dict (coremltools _from_dict with forbid_extra_keys). */
export function opConfigFromDict(type: string, d: Record<string, unknown>): OpConfig {
  if (!(type in FIELDS)) bad(`unknown config_type "${type}" (OpPalettizerConfig, OpLinearQuantizerConfig, OpMagnitudePrunerConfig, OpThresholdPrunerConfig)`);
  const t = type as ConfigType;
  for (const k of Object.keys(d)) {
    if (k === 'lut_function') bad('lut_function cannot be read from a dict (coremltools refuses it too)');
    if (!FIELDS[t].includes(k) && !(t === 'OpPalettizerConfig' && k === 'lut_dtype')) bad(`${t}: unknown key "${k}" (allowed: ${FIELDS[t].join(', ')})`);
  }
  const g = (k: string) => (d[k] === null ? undefined : d[k]) as never;
  switch (t) {
    case 'OpPalettizerConfig':
      return palettizerConfig({
        mode: lower(g('mode')) as never,
        nbits: g('nbits'),
        granularity: lower(g('granularity')) as never,
        group_size: g('group_size'),
        channel_axis: g('channel_axis'),
        cluster_dim: g('cluster_dim'),
        enable_per_channel_scale: g('enable_per_channel_scale'),
        lut_dtype: g('lut_dtype'),
        weight_threshold: g('weight_threshold'),
      });
    case 'OpLinearQuantizerConfig':
      return linearQuantizerConfig({
        mode: lower(g('mode')) as never,
        dtype: lower(g('dtype')) as never,
        granularity: lower(g('granularity')) as never,
        block_size: g('block_size'),
        weight_threshold: g('weight_threshold'),
      });
    case 'OpMagnitudePrunerConfig':
      return magnitudePrunerConfig({
        target_sparsity: g('target_sparsity'),
        block_size: g('block_size'),
        n_m_ratio: g('n_m_ratio'),
        dim: g('dim'),
        weight_threshold: g('weight_threshold'),
      });
    case 'OpThresholdPrunerConfig':
      return thresholdPrunerConfig({
        threshold: g('threshold'),
        minimum_sparsity_percentile: g('minimum_sparsity_percentile'),
        weight_threshold: g('weight_threshold'),
      });
  }
}

function entry(defType: string | undefined, v: unknown, where: string): OpConfig | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) bad(`${where} must be a dict or null`);
  const d = { ...(v as Record<string, unknown>) };
  let type = defType;
  if ('config_type' in d) {
    type = String(d.config_type);
    delete d.config_type;
  }
  if (!type) bad(`${where}: no config_type given`);
  return opConfigFromDict(type, d);
}

export function optimizationConfigFromDict(d: unknown): OptimizationConfig {
  if (!d || typeof d !== 'object' || Array.isArray(d)) bad('an OptimizationConfig dict must be a mapping');
  const o = d as Record<string, unknown>;
  const valid = ['config_type', 'global_config', 'op_type_configs', 'op_name_configs'];
  for (const k of Object.keys(o)) if (!valid.includes(k)) bad(`invalid key "${k}" to construct an OptimizationConfig (supported keys: ${valid.join(', ')})`);
  const ct = o.config_type === undefined ? undefined : String(o.config_type);
  const out: OptimizationConfig = {};
  if (o.global_config !== undefined) out.global_config = entry(ct, o.global_config, 'global_config');
  for (const key of ['op_type_configs', 'op_name_configs'] as const) {
    const m = o[key];
    if (m === undefined || m === null) continue;
    if (typeof m !== 'object' || Array.isArray(m)) bad(`${key} must be a mapping`);
    const rec: Record<string, OpConfig | null> = {};
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (key === 'op_type_configs' && k === 'const') bad('const ops cannot be set by op_type_configs; use global_config');
      rec[k] = entry(ct, v, `${key}.${k}`);
    }
    out[key] = rec;
  }
  return out;
}

function cfgDict(c: OpConfig | null, withType: boolean): Record<string, unknown> | null {
  if (!c) return null;
  if (c.type === 'NNQuantizeConfig') bad('NNQuantizeConfig has no coremltools.optimize dict form (it is quantization_utils.quantize_weights)');
  const out: Record<string, unknown> = {};
  if (withType) out.config_type = c.type;
  const src = c as unknown as Record<string, unknown>;
  for (const k of FIELDS[c.type as ConfigType]) {
    if (k === 'num_kmeans_workers') continue;
    if (src[k] !== undefined && !(c.type === 'OpPalettizerConfig' && k === 'nbits' && src[k] == null)) out[k] = src[k];
  }
  if (c.type === 'OpPalettizerConfig' && c.lut_dtype) out.lut_dtype = c.lut_dtype;
  return out;
}

/** coremltools dict form. A single config_type at the top when all entries share it. */
export function optimizationConfigToDict(oc: OptimizationConfig): Record<string, unknown> {
  const all = [oc.global_config, ...Object.values(oc.op_type_configs ?? {}), ...Object.values(oc.op_name_configs ?? {})].filter(
    (c): c is OpConfig => !!c,
  );
  const types = new Set(all.map((c) => c.type));
  const shared = types.size === 1 ? [...types][0] : undefined;
  const out: Record<string, unknown> = {};
  if (shared) out.config_type = shared;
  if (oc.global_config !== undefined) out.global_config = cfgDict(oc.global_config, !shared);
  for (const key of ['op_type_configs', 'op_name_configs'] as const) {
    const m = oc[key];
    if (!m || Object.keys(m).length === 0) continue;
    out[key] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, cfgDict(v, !shared)]));
  }
  return out;
}

/** A plan as JSON/YAML: one OptimizationConfig dict, or {target, steps: [dict, ...]} for several steps. */
export function planToDict(plan: CompressionPlan): Record<string, unknown> {
  if (plan.steps.length === 1) return optimizationConfigToDict(plan.steps[0]);
  return { target: plan.target, steps: plan.steps.map(optimizationConfigToDict) };
}

export function planFromDict(d: unknown, target: Target = 'iOS18'): CompressionPlan {
  if (d && typeof d === 'object' && !Array.isArray(d) && 'steps' in (d as object)) {
    const o = d as { steps: unknown; target?: unknown };
    if (!Array.isArray(o.steps)) bad('"steps" must be a list of OptimizationConfig dicts');
    const t = (o.target ?? target) as Target;
    return { target: t, steps: o.steps.map(optimizationConfigFromDict) };
  }
  if (Array.isArray(d)) return { target, steps: d.map(optimizationConfigFromDict) };
  return { target, steps: [optimizationConfigFromDict(d)] };
}

export function planFromText(text: string, target: Target = 'iOS18', fileName = 'config'): CompressionPlan {
  let d: unknown;
  try {
    d = /\.json$/i.test(fileName) || /^\s*[[{]/.test(text) ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ShrinkrayError('invalid-option', `${fileName}: not valid JSON or YAML (${(e as Error).message})`, fileName);
  }
  try {
    return planFromDict(d, target);
  } catch (e) {
    if (e instanceof ShrinkrayError) throw new ShrinkrayError(e.code, `${fileName}: ${e.message}`, fileName);
    throw e;
  }
}

export function planToJson(plan: CompressionPlan): string {
  return JSON.stringify(planToDict(plan), null, 2) + '\n';
}

export function planToYaml(plan: CompressionPlan): string {
  return YAML.stringify(planToDict(plan));
}
