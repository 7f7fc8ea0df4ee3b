/** Plans: constructors with coremltools defaults, validation, resolution, dict import/export, Python. */
import type { CompressionPlan, OpConfig, OptimizationConfig, Target } from '../compress/types';
export { palettizerConfig } from '../compress/palettize/options';
export { linearQuantizerConfig } from '../compress/quantize/options';
export { magnitudePrunerConfig, thresholdPrunerConfig } from '../compress/prune/options';
export { validatePlan, validateOpConfig, targetIssue, familyOf, configsOf } from './validate';
export { resolveConfig, sameConfig, describeConfig, canonical } from './resolve';
export {
  optimizationConfigFromDict,
  optimizationConfigToDict,
  planFromDict,
  planToDict,
  planFromText,
  planToJson,
  planToYaml,
  opConfigFromDict,
} from './dict';
export { pythonSnippet, pyConfig } from './python';
export { modelTarget, checkPlanTarget, holdsMLProgram, targetOfSpec, type ModelTarget } from './target';

/** A one-step plan with a global config. */
export function globalPlan(config: OpConfig, target: Target = 'iOS18', extra: Omit<OptimizationConfig, 'global_config'> = {}): CompressionPlan {
  return { target, steps: [{ global_config: config, ...extra }] };
}

/** Joint plan: each config a global step, in order. */
export function jointPlan(configs: OpConfig[], target: Target = 'iOS18'): CompressionPlan {
  return { target, steps: configs.map((c) => ({ global_config: c })) };
}
