import { describe, expect, it } from 'vitest';
import { checkPlanTarget, globalPlan, modelTarget, palettizerConfig } from './index';
import { loadModel } from '../formats';
import type { ModelSummary } from '../model/types';
import { pathTree } from '../../node/fs-tree';
import { fixture } from '../../../tests/fixtures';

const summary = async (p: string): Promise<ModelSummary> => (await loadModel(pathTree(fixture(p)))).summary;
const plan = (t: 'iOS16' | 'iOS17' | 'iOS18') => globalPlan(palettizerConfig({ nbits: 4 }), t);

describe('modelTarget on the fixtures', () => {
  it('base_ios16 (spec 7 ML program): iOS16, fixed, with the re-convert message', async () => {
    const s = await summary('synthetic/base_ios16.mlpackage');
    expect(s.specificationVersion).toBe(7);
    const t = modelTarget(s);
    expect(t).toMatchObject({ target: 'iOS16', fixed: true });
    expect(t.reason).toBe(
      "This ML program targets iOS16 (specificationVersion 7). coremltools cannot raise an existing program's deployment target: re-convert it with minimum_deployment_target=ct.target.iOS18 to use iOS18-only options.",
    );
    expect(checkPlanTarget(s, plan('iOS18'))).toBe(t.reason);
    expect(checkPlanTarget(s, plan('iOS17'))).toBe(t.reason);
    expect(checkPlanTarget(s, plan('iOS16'))).toBeUndefined();
  });
  it('base_ios18 (spec 9): iOS18, fixed; a lower plan target is refused', async () => {
    const s = await summary('synthetic/base_ios18.mlpackage');
    expect(s.specificationVersion).toBe(9);
    expect(modelTarget(s)).toMatchObject({ target: 'iOS18', fixed: true });
    expect(checkPlanTarget(s, plan('iOS18'))).toBeUndefined();
    expect(checkPlanTarget(s, plan('iOS16'))).toMatch(/targets iOS18 \(specificationVersion 9\).*use iOS18, not iOS16/);
  });
  it('DTLN_AEC Part2 (spec 7 ML program with nested blocks): iOS16, fixed, as its golden refusals say', async () => {
    const s = await summary('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage');
    expect(s.specificationVersion).toBe(7);
    const t = modelTarget(s);
    expect(t).toMatchObject({ target: 'iOS16', fixed: true });
    expect(checkPlanTarget(s, plan('iOS18'))).toMatch(/^This ML program targets iOS16 \(specificationVersion 7\)\. coremltools cannot raise/);
  });
  it('base_nn (NeuralNetwork): not fixed, the target does not apply', async () => {
    const s = await summary('synthetic/base_nn.mlmodel');
    const t = modelTarget(s);
    expect(t.fixed).toBe(false);
    expect(t.reason).toMatch(/NeuralNetwork.*does not apply/);
    for (const x of ['iOS16', 'iOS17', 'iOS18'] as const) expect(checkPlanTarget(s, plan(x))).toBeUndefined();
  });
  it('ONNX: not fixed, iOS18 by default', async () => {
    const s = await summary('real/onnx/CIFAR10_ImageClassifier.onnx');
    expect(modelTarget(s)).toMatchObject({ target: 'iOS18', fixed: false });
    for (const x of ['iOS16', 'iOS17', 'iOS18'] as const) expect(checkPlanTarget(s, plan(x))).toBeUndefined();
  });
  it('spec 8 ML program → iOS17; a pipeline holding an ML program is fixed too', () => {
    const base: ModelSummary = { format: 'mlpackage', modelType: 'mlProgram', fileName: 'x', fileBytes: 0, specificationVersion: 8, weightCount: 0, totalParams: 0, totalWeightBytes: 0, bytesByDtype: {} };
    expect(modelTarget(base)).toMatchObject({ target: 'iOS17', fixed: true });
    expect(modelTarget(base).reason).toMatch(/targets iOS17 \(specificationVersion 8\)/);
    const pipe: ModelSummary = { ...base, format: 'mlmodel', modelType: 'pipeline', specificationVersion: 7, opsets: ['CoreML6'] };
    expect(modelTarget(pipe)).toMatchObject({ target: 'iOS16', fixed: true });
    const nnPipe: ModelSummary = { ...pipe, opsets: undefined, specificationVersion: 4 };
    expect(modelTarget(nnPipe).fixed).toBe(false);
    expect(modelTarget({ ...base, specificationVersion: 10 })).toMatchObject({ target: 'iOS18', fixed: true });
  });
});
