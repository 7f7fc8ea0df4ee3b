/**
 * The CLI's only contact with planning and the engine (src/core/plan and src/core/engine, engineer C's):
 * coremltools dicts → CompressionPlan (C's parser, defaults and validation), then the engine.
 */
import type { CompressionPlan, Target, WeightResult } from '../core/compress/types';
import { isShrinkrayError, ShrinkrayError } from '../core/errors';
import type { LoadedModel, ModelSummary } from '../core/model/types';
import { checkPlanTarget, modelTarget, planFromDict, validatePlan } from '../core/plan';
import { runPlan } from '../core/engine';
import { compressToSink, streamBlocker, type OutputSink, type StreamRun } from '../core/engine/stream';

/**
 * The deployment target a model already needs (plan/target.ts): an ML program's specificationVersion (7 → iOS16,
 * 8 → iOS17, 9+ → iOS18), like coremltools, which never raises the target of an existing mlprogram. An old
 * NeuralNetwork model gets iOS16 (its own quantization path ignores the target); ONNX has no Core ML target, so
 * nothing is refused on its account (iOS18).
 */
export function defaultTarget(s: ModelSummary): Target {
  return modelTarget(s).target;
}

/** `model` undefined: check the options alone (at the most permissive target).
 * `raw`: one coremltools OptimizationConfig dict, a list of them (joint steps), or {target, steps}.
 * With a model whose target is fixed (an ML program), a --target or a config target that differs is refused
 * with the model's message (exit 2), and so is an option the program's target does not allow: the advice is to
 * re-convert, since no --target can raise it. */
export function buildPlan(raw: unknown, model: LoadedModel | undefined, target: Target | undefined, source?: string): CompressionPlan {
  const mt = model ? modelTarget(model.summary) : undefined;
  if (model && mt?.fixed && target && target !== mt.target) {
    throw new ShrinkrayError('invalid-option', `--target ${target}: ${checkPlanTarget(model.summary, { target })}`, model.summary.fileName);
  }
  try {
    const plan = planFromDict(raw, target ?? mt?.target ?? 'iOS18');
    if (target) plan.target = target;
    const msg = model ? checkPlanTarget(model.summary, plan) : undefined;
    if (msg) throw new ShrinkrayError('invalid-option', `target ${plan.target}: ${msg}`, source);
    try {
      validatePlan(plan);
    } catch (e) {
      if (mt?.fixed && isShrinkrayError(e) && e.code === 'target-too-low') throw new ShrinkrayError('invalid-option', `${e.message}. ${mt.reason}`, source);
      throw e;
    }
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

/** Whether the model is compressed and written in one pass (an .mlpackage ML program; see src/core/engine/stream.ts). */
export function canStream(model: LoadedModel, plan: CompressionPlan): boolean {
  return streamBlocker(model, plan) === undefined;
}

/** The one-pass path: each weight read, compressed and its blobs written before the next; results without representations. */
export async function streamEngine(
  model: LoadedModel,
  plan: CompressionPlan,
  sink: OutputSink,
  opts: { signal: AbortSignal; onProgress: (done: number, total: number) => void; tag: string; collect?: () => void },
): Promise<StreamRun> {
  return compressToSink(model, plan, sink, opts);
}
