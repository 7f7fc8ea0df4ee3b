/**
 * Which weights a plan compresses (formats.md §7.2): every weight gets a Job or a skipped WeightResult with
 * its reason (already compressed, not a float weight, rank < 2, no consumers, disabled, conflicting configs,
 * at or below weight_threshold — the test is numel > weight_threshold —, option illegal for the target,
 * op not supported). Neural-network weights go to the NN kernels (src/core/compress/nn).
 */
import type { LoadedModel, WeightInfo } from '../model/types';
import type { CompressionPlan, OpConfig, WeightResult } from '../compress/types';
import { validatePlan, targetIssue, familyOf } from '../plan/validate';
import { resolveConfig } from '../plan/resolve';
import { isStructured } from '../compress/prune/options';
import { nnSelect, toNNConfig } from '../compress/nn/index';
import { configLabel, skippedResult, type Job } from './job';
import { convGroups, isConvOrLinearWeight, weightAxes } from './axes';
import type { OnnxByteContext } from '../formats/onnx/emit-weight';
import { DT } from '../formats/onnx/dtypes';

export function isNNWeight(model: LoadedModel, w: WeightInfo): boolean {
  if (w.nn) return true;
  return model.summary.format === 'mlmodel' && model.summary.modelType !== 'mlProgram' && /\./.test(w.opType) && !w.opType.startsWith('constexpr');
}

export function selectJobs(model: LoadedModel, plan: CompressionPlan): { jobs: Job[]; skipped: WeightResult[] } {
  validatePlan(plan);
  const jobs: Job[] = [];
  const skipped: WeightResult[] = [];
  for (const w of model.weights) {
    const r = selectOne(model, plan, w);
    if ('reason' in r) {
      const s = skippedResult(w.id, r.label, w.bytes, r.reason);
      s.bitsPerWeight = w.count > 0 ? (w.bytes * 8) / w.count : 0;
      skipped.push(s);
    }
    else jobs.push(r);
  }
  return { jobs, skipped };
}

type Selected = Job | { reason: string; label: string };

function selectOne(model: LoadedModel, plan: CompressionPlan, w: WeightInfo): Selected {
  const nm = (reason: string, label = 'uncompressed') => ({ reason, label });
  if (isNNWeight(model, w)) {
    const res = resolveConfig(plan.steps[0], w);
    if (!res.config) return nm(res.reason);
    if (plan.steps.length > 1) return nm('joint compression is not available for neural-network models');
    const label = configLabel(res.config);
    if (w.compression) return nm(`already compressed (${w.compression.kind})`, label);
    if (!nnSelect(w)) return nm(`quantize_weights does not quantize ${w.opType} (${w.dtype})`, label);
    const nc = toNNConfig(res.config);
    if ('skip' in nc) return nm(nc.skip, label);
    return {
      id: w.id,
      name: w.name,
      dtype: 'fp32',
      shape: w.shape.slice(),
      target: plan.target,
      ctx: { outputAxis: w.nn?.axis ?? 0, inputAxis: 1, opType: w.opType },
      steps: [],
      structuredOk: false,
      convGroups: 1,
      nn: { info: w, config: nc },
      bytesBefore: w.bytes,
      label: configLabel(nc),
    };
  }
  if (w.compression) return nm(`already compressed (${w.compression.kind}${w.compression.nbits ? ` ${w.compression.nbits}-bit` : ''})`);
  if (w.dtype !== 'fp16' && w.dtype !== 'fp32') return nm(`dtype ${w.dtype} is not a float weight (fp16 / fp32)`);
  if (w.shape.length < 2) return nm(`rank-${w.shape.length} tensor (coremltools never compresses rank ≤ 1 tensors)`);
  if (w.consumers.length === 0) return nm('no consumer op reads it (it only feeds the block output)');
  const steps: OpConfig[] = [];
  const reasons: string[] = [];
  plan.steps.forEach((oc, i) => {
    const res = resolveConfig(oc, w);
    if (!res.config) {
      reasons.push(res.reason);
      return;
    }
    const c = res.config;
    if (c.type === 'NNQuantizeConfig') {
      reasons.push('neural-network quantization applies to neural-network models only');
      return;
    }
    if (!(w.count > c.weight_threshold)) {
      reasons.push(`${w.count} elements, not more than weight_threshold ${c.weight_threshold}`);
      return;
    }
    const issue = targetIssue(c, plan.target, i > 0 && steps.length > 0);
    if (issue) {
      reasons.push(`option illegal for the target: ${issue}`);
      return;
    }
    if (c.type === 'OpMagnitudePrunerConfig' && isStructured(c)) {
      const named = [w.name, w.baseName].some((k) => oc.op_name_configs && k in oc.op_name_configs);
      if (!named && !isConvOrLinearWeight(w)) {
        reasons.push(`op not supported: block / n:m pruning applies only to conv and linear weights (consumed by ${w.consumers.map((x) => x.type).join(', ')})`);
        return;
      }
    }
    steps.push(c);
  });
  const label = steps.length ? steps.map(configLabel).join(' + ') : 'uncompressed';
  if (steps.length === 0) return nm(reasons.join('; ') || 'no config applies to it', label);
  const axes = weightAxes(w);
  if ('reason' in axes) {
    if (steps.some((c) => familyOf(c) !== 'prune')) return nm(axes.reason, label);
  }
  const ax = 'reason' in axes ? { outputAxis: 0, inputAxis: 1 } : axes;
  return {
    id: w.id,
    name: w.name,
    dtype: w.dtype as 'fp16' | 'fp32',
    shape: w.shape.slice(),
    target: plan.target,
    ctx: { outputAxis: ax.outputAxis, inputAxis: ax.inputAxis, opType: w.consumers[0]?.type },
    steps,
    structuredOk: true,
    convGroups: convGroups(w),
    bytesBefore: w.bytes,
    label,
    ...(model.summary.format === 'onnx' ? { onnx: onnxContext(model, w) } : {}),
  };
}

/** What the ONNX writer's stored form depends on (plain data for the Job). */
function onnxContext(model: LoadedModel, w: WeightInfo): OnnxByteContext {
  const o = model.summary.onnx;
  const opset = o?.opsets.find((x) => x.domain === '' || x.domain === 'ai.onnx')?.version ?? 0;
  return {
    opset,
    ir: o?.irVersion ?? 0,
    outDt: w.dtype === 'fp16' ? DT.FLOAT16 : DT.FLOAT,
    // the reader's scope is the graph path of an If/Loop/Scan body, 'main' for the main graph
    inSubgraph: !!w.scope && w.scope !== 'main',
  };
}
