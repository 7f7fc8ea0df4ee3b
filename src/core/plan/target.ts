/**
 * The deployment target a model allows. coremltools cannot raise the deployment target of an existing ML
 * program (fixtures README, "surprises": the iOS18-only options fail on spec-7 models), and ct.optimize
 * re-serialises at max(spec, 7), so an ML program's target is fixed by its specificationVersion: ≤ 7 → iOS16,
 * 8 → iOS17, ≥ 9 → iOS18. NeuralNetwork models go through quantization_utils, where the target does not apply;
 * ONNX has no Core ML target, so iOS18 (which allows every option) is the default and nothing is fixed.
 */
import type { CompressionPlan, Target } from '../compress/types';
import type { ModelSummary } from '../model/types';

export interface ModelTarget {
  target: Target;
  /** true when no other target can be used for this model */
  fixed: boolean;
  /** why the target is what it is (for a fixed target: what to do to get another one) */
  reason?: string;
}

/** An ML program, alone, inside a pipeline, or in an .mlpackage. */
export function holdsMLProgram(s: ModelSummary): boolean {
  return s.modelType === 'mlProgram' || (s.opsets?.length ?? 0) > 0 || (s.functions?.length ?? 0) > 0;
}

export function targetOfSpec(spec: number): Target {
  if (spec >= 9) return 'iOS18';
  if (spec === 8) return 'iOS17';
  return 'iOS16';
}

export function modelTarget(summary: ModelSummary): ModelTarget {
  if (summary.format === 'onnx') {
    return { target: 'iOS18', fixed: false, reason: 'ONNX models have no Core ML deployment target; iOS18 allows every option.' };
  }
  const spec = summary.specificationVersion ?? 0;
  if (holdsMLProgram(summary)) {
    const target = targetOfSpec(spec);
    if (target === 'iOS18') {
      return { target, fixed: true, reason: `This ML program targets iOS18 (specificationVersion ${spec}): every option is available.` };
    }
    return {
      target,
      fixed: true,
      reason:
        `This ML program targets ${target} (specificationVersion ${spec}). coremltools cannot raise an existing program's ` +
        `deployment target: re-convert it with minimum_deployment_target=ct.target.iOS18 to use iOS18-only options.`,
    };
  }
  return {
    target: 'iOS16',
    fixed: false,
    reason: `NeuralNetwork model (specificationVersion ${spec}): the deployment target does not apply; coremltools' quantization_utils path keeps the model's specification.`,
  };
}

/**
 * The reason a plan cannot run on this model because of its deployment target (the model's own message), or
 * undefined when the plan's target is the model's or the model's target is not fixed.
 */
export function checkPlanTarget(summary: ModelSummary, plan: Pick<CompressionPlan, 'target'>): string | undefined {
  const mt = modelTarget(summary);
  if (!mt.fixed || plan.target === mt.target) return undefined;
  if (mt.target !== 'iOS18') return mt.reason;
  // a lower target than the program's: coremltools writes the program at its own opset, never lowers it
  return `This ML program targets iOS18 (specificationVersion ${summary.specificationVersion ?? 0}). coremltools keeps an existing program's deployment target: use iOS18, not ${plan.target}.`;
}
