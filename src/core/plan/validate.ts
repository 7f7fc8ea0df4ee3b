/**
 * Plan validation: each op config's own rules (coremltools' attrs validators), combinations across joint
 * steps, and deployment-target legality ("per_grouped_channel needs iOS18 (deployment target is iOS16)").
 */
import { ShrinkrayError } from '../errors';
import type { CompressionPlan, OpConfig, OptimizationConfig, Target } from '../compress/types';
import { palettizerTargetIssue, validatePalettizer } from '../compress/palettize/options';
import { linearQuantizerTargetIssue, validateLinearQuantizer } from '../compress/quantize/options';
import { validateMagnitudePruner, validateThresholdPruner } from '../compress/prune/options';

export type Family = 'palettize' | 'quantize' | 'prune' | 'nn';

export function familyOf(c: OpConfig): Family {
  switch (c.type) {
    case 'OpPalettizerConfig':
      return 'palettize';
    case 'OpLinearQuantizerConfig':
      return 'quantize';
    case 'OpMagnitudePrunerConfig':
    case 'OpThresholdPrunerConfig':
      return 'prune';
    case 'NNQuantizeConfig':
      return 'nn';
  }
}

export function validateOpConfig(c: OpConfig): void {
  switch (c.type) {
    case 'OpPalettizerConfig':
      return validatePalettizer(c);
    case 'OpLinearQuantizerConfig':
      return validateLinearQuantizer(c);
    case 'OpMagnitudePrunerConfig':
      return validateMagnitudePruner(c);
    case 'OpThresholdPrunerConfig':
      return validateThresholdPruner(c);
    case 'NNQuantizeConfig':
      if (!Number.isInteger(c.nbits) || !((c.nbits >= 1 && c.nbits <= 8) || c.nbits === 16)) {
        throw new ShrinkrayError('invalid-option', `NNQuantizeConfig: nbits must be 1-8 or 16 (got ${c.nbits})`);
      }
      return;
  }
}

/** Why a config cannot run at this target, or null. `joint` = the step runs after another step. */
export function targetIssue(c: OpConfig, target: Target, joint = false): string | null {
  if (joint && target !== 'iOS18') return `joint compression needs iOS18 (deployment target is ${target})`;
  if (c.type === 'OpPalettizerConfig') return palettizerTargetIssue(c, target);
  if (c.type === 'OpLinearQuantizerConfig') return linearQuantizerTargetIssue(c, target);
  return null;
}

export function configsOf(oc: OptimizationConfig): OpConfig[] {
  const out: OpConfig[] = [];
  if (oc.global_config) out.push(oc.global_config);
  for (const v of Object.values(oc.op_type_configs ?? {})) if (v) out.push(v);
  for (const v of Object.values(oc.op_name_configs ?? {})) if (v) out.push(v);
  return out;
}

const ORDER: Record<Family, number> = { prune: 0, palettize: 1, quantize: 2, nn: 3 };

/**
 * Throws ShrinkrayError for an invalid option ('invalid-option') or an option the target cannot express
 * ('target-too-low'). Joint steps must follow coremltools' orders: prune → palettize, prune → quantize,
 * palettize → quantize the LUT (per_tensor only), prune → palettize → quantize the LUT.
 */
export function validatePlan(plan: CompressionPlan): void {
  if (!['iOS16', 'iOS17', 'iOS18'].includes(plan.target)) {
    throw new ShrinkrayError('invalid-option', `unknown deployment target "${plan.target}" (iOS16, iOS17 or iOS18)`);
  }
  if (plan.steps.length === 0) throw new ShrinkrayError('invalid-option', 'the plan has no compression step');
  const fams: Family[] = [];
  plan.steps.forEach((step, i) => {
    const cfgs = configsOf(step);
    const stepFams = new Set(cfgs.map(familyOf));
    for (const c of cfgs) {
      validateOpConfig(c);
      const issue = targetIssue(c, plan.target, i > 0);
      if (issue) throw new ShrinkrayError('target-too-low', issue);
    }
    if (i > 0) {
      for (const f of stepFams) {
        const prev = fams[fams.length - 1];
        if (f === 'nn') throw new ShrinkrayError('invalid-option', 'neural-network quantization cannot be a joint step');
        if (prev !== undefined && ORDER[f] <= ORDER[prev]) {
          throw new ShrinkrayError('invalid-option', `joint compression supports prune → palettize → quantize (LUT) orders; step ${i + 1} (${f}) cannot follow ${prev}`);
        }
        if (f === 'quantize' && fams.includes('palettize')) {
          for (const c of cfgs) {
            if (c.type === 'OpLinearQuantizerConfig' && c.granularity !== 'per_tensor') {
              throw new ShrinkrayError('invalid-option', 'quantizing a palettized LUT needs per_tensor granularity (coremltools refuses other granularities)');
            }
            if (c.type === 'OpLinearQuantizerConfig' && (c.dtype === 'int4' || c.dtype === 'uint4')) {
              throw new ShrinkrayError('invalid-option', 'a palettized LUT can be quantized to int8 or uint8 only');
            }
          }
        }
      }
    }
    const main = [...stepFams].sort((a, b) => ORDER[a] - ORDER[b]).pop();
    if (main) fams.push(main);
  });
}
