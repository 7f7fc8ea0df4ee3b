/**
 * The CLI's only contact with planning and the engine (src/core/plan and src/core/engine, engineer C's):
 * coremltools dicts → CompressionPlan (C's parser, defaults and validation), then the engine.
 */
import type { CompressionPlan, Target, WeightResult } from '../core/compress/types';
import { ShrinkrayError } from '../core/errors';
import type { LoadedModel, ModelSummary } from '../core/model/types';
import { planFromDict, validatePlan } from '../core/plan';
import { runPlan } from '../core/engine';

/**
 * The deployment target a model already needs: its specificationVersion (7 → iOS16, 8 → iOS17, 9+ → iOS18),
 * like coremltools, which never raises the target of an existing mlprogram. An old NeuralNetwork model gets
 * iOS16 (its own quantization path ignores the target); ONNX has no Core ML target, so nothing is refused on
 * its account (iOS18).
 */
export function defaultTarget(s: ModelSummary): Target {
  if (s.format === 'onnx') return 'iOS18';
  const v = s.specificationVersion ?? 0;
  if (v >= 9) return 'iOS18';
  if (v === 8) return 'iOS17';
  return 'iOS16';
}

/** `model` undefined: check the options alone (at the most permissive target).
 * `raw`: one coremltools OptimizationConfig dict, a list of them (joint steps), or {target, steps}. */
export function buildPlan(raw: unknown, model: LoadedModel | undefined, target: Target | undefined, source?: string): CompressionPlan {
  try {
    const plan = planFromDict(raw, target ?? (model ? defaultTarget(model.summary) : 'iOS18'));
    if (target) plan.target = target;
    validatePlan(plan);
    return plan;
  } catch (e) {
    if (e instanceof ShrinkrayError && source) throw new ShrinkrayError(e.code, `${source}: ${e.message}`, source);
    throw e;
  }
}

export async function runEngine(
  model: LoadedModel,
  plan: CompressionPlan,
  signal: AbortSignal,
  onProgress: (done: number, total: number) => void,
): Promise<Map<string, WeightResult>> {
  return runPlan(model, plan, { signal, onProgress });
}
