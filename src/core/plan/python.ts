/** Python that reproduces a plan with coremltools 9 (cto = coremltools.optimize.coreml). */
import type { CompressionPlan, OpConfig, OptimizationConfig } from '../compress/types';
import { familyOf } from './validate';

const API: Record<string, string> = {
  palettize: 'palettize_weights',
  quantize: 'linear_quantize_weights',
  prune: 'prune_weights',
};

function pyValue(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `(${v.map(pyValue).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isNaN(v) ? String(v) : String(v);
  return JSON.stringify(v);
}

const FLOAT_FIELDS = new Set(['target_sparsity', 'threshold', 'minimum_sparsity_percentile']);

export function pyConfig(c: OpConfig | null): string {
  if (!c) return 'None';
  if (c.type === 'NNQuantizeConfig') return `None  # neural network: quantization_utils.quantize_weights(model, nbits=${c.nbits}, quantization_mode=${JSON.stringify(c.quantization_mode)})`;
  const src = c as unknown as Record<string, unknown>;
  const args: string[] = [];
  for (const [k, v] of Object.entries(src)) {
    if (k === 'type' || k === 'lut_dtype' || v === undefined) continue;
    if (v === null && k !== 'channel_axis') continue;
    if (k === 'channel_axis' && v === null) continue;
    // floats must be written as floats (attrs instance_of(float))
    const s = FLOAT_FIELDS.has(k) && typeof v === 'number' && Number.isInteger(v) ? `${v}.0` : pyValue(v);
    args.push(`${k}=${s}`);
  }
  return `cto.${c.type}(${args.join(', ')})`;
}

function pyOptimizationConfig(oc: OptimizationConfig, indent: string): string {
  const parts: string[] = [];
  if (oc.global_config !== undefined) parts.push(`${indent}    global_config=${pyConfig(oc.global_config)},`);
  for (const key of ['op_type_configs', 'op_name_configs'] as const) {
    const m = oc[key];
    if (!m || Object.keys(m).length === 0) continue;
    parts.push(`${indent}    ${key}={`);
    for (const [k, v] of Object.entries(m)) parts.push(`${indent}        ${JSON.stringify(k)}: ${pyConfig(v)},`);
    parts.push(`${indent}    },`);
  }
  return `cto.OptimizationConfig(\n${parts.join('\n')}\n${indent})`;
}

export function pythonSnippet(plan: CompressionPlan, modelPath = 'Model.mlpackage', outPath = 'Model.compressed.mlpackage'): string {
  const lines: string[] = [
    '# Reproduces this Shrinkray plan with coremltools 9 (on a Mac or Linux with coremltools installed).',
    'import coremltools as ct',
    'import coremltools.optimize.coreml as cto',
    '',
    `model = ct.models.MLModel(${JSON.stringify(modelPath)}, skip_model_load=True)`,
  ];
  let step = 0;
  for (const oc of plan.steps) {
    const cfgs = [oc.global_config, ...Object.values(oc.op_type_configs ?? {}), ...Object.values(oc.op_name_configs ?? {})].filter(
      (c): c is OpConfig => !!c,
    );
    const fams = [...new Set(cfgs.map(familyOf))];
    if (fams.length > 1) lines.push(`# note: coremltools applies one config family per call; this step mixes ${fams.join(' and ')}`);
    const fam = fams[0] ?? 'palettize';
    lines.push('', `config_${step + 1} = ${pyOptimizationConfig(oc, '')}`);
    const joint = step > 0 ? ', joint_compression=True' : '';
    lines.push(`model = cto.${API[fam] ?? 'palettize_weights'}(model, config_${step + 1}${joint})`);
    // the int8/uint8 LUT extension is coremltools' joint "palettize then quantize the LUT"
    const lutQ = cfgs.find((c) => c.type === 'OpPalettizerConfig' && c.lut_dtype);
    if (lutQ && lutQ.type === 'OpPalettizerConfig') {
      lines.push(
        `model = cto.linear_quantize_weights(model, cto.OptimizationConfig(global_config=cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype=${JSON.stringify(lutQ.lut_dtype)}, granularity="per_tensor")), joint_compression=True)`,
      );
    }
    step++;
  }
  lines.push('', `model.save(${JSON.stringify(outPath)})`, '');
  return lines.join('\n');
}
