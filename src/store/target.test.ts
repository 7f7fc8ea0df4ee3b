/** The page's deployment target follows the model: fixed for ML programs, refused presets carry the model's message. */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../core/formats';
import { modelTarget } from '../core/plan/target';
import { pathTree } from '../node/fs-tree';
import { fixture } from '../../tests/fixtures';
import { useModel } from './model';
import { presetRefusal, useOptimize } from './optimize';
import { PRESETS } from './settings';

const REASON =
  "This ML program targets iOS16 (specificationVersion 7). coremltools cannot raise an existing program's deployment target: re-convert it with minimum_deployment_target=ct.target.iOS18 to use iOS18-only options.";

async function show(path: string) {
  const model = await loadModel(pathTree(fixture(path)));
  useModel.setState((s) => ({ model, generation: s.generation + 1 }));
  return model;
}

describe('deployment target in the page', () => {
  it('DTLN Part2 (spec 7): the target becomes iOS16 on load and stays there; iOS18 presets are refused with the message', async () => {
    useOptimize.setState({ settings: { ...useOptimize.getState().settings, target: 'iOS18' } });
    const model = await show('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage');
    expect(useOptimize.getState().settings.target).toBe('iOS16');
    const refused = PRESETS.filter((p) => presetRefusal(model, p.id, useOptimize.getState().settings));
    expect(refused.map((p) => p.id).sort()).toEqual(PRESETS.filter((p) => p.settings.target === 'iOS18').map((p) => p.id).sort());
    expect(presetRefusal(model, 'pal4g16', useOptimize.getState().settings)).toBe(`per_grouped_channel palettization needs iOS18. ${REASON}`);
    expect(presetRefusal(model, 'pal8', useOptimize.getState().settings)).toBeUndefined();
    useOptimize.getState().usePreset('pal4g16');
    const st = useOptimize.getState();
    expect(st.settings.target).toBe('iOS16');
    expect(st.settings.palGranularity).toBe('per_grouped_channel');
    expect(st.planError).toBe(`per_grouped_channel palettization needs iOS18. ${REASON}`);
    // the control cannot move it either
    useOptimize.getState().setSettings({ target: 'iOS18' });
    expect(useOptimize.getState().settings.target).toBe('iOS16');
    // an imported plan at iOS18 is refused with the model's message
    const plan = { target: 'iOS18' as const, steps: [{ global_config: { type: 'OpPalettizerConfig' as const, mode: 'kmeans' as const, nbits: 4, granularity: 'per_tensor' as const, group_size: 32, channel_axis: null, cluster_dim: 1, enable_per_channel_scale: false, lut_dtype: null, weight_threshold: 2048 } }] };
    useOptimize.getState().importPlan(plan, true, { ...st.settings, target: 'iOS18' }, {}, {});
    expect(useOptimize.getState().planError).toBe(REASON);
    useOptimize.getState().setEnabled(false);
  });
  it('base_ios18: fixed at iOS18, nothing refused; ONNX and NeuralNetwork models: not fixed', async () => {
    const m18 = await show('synthetic/base_ios18.mlpackage');
    expect(useOptimize.getState().settings.target).toBe('iOS18');
    expect(PRESETS.filter((p) => presetRefusal(m18, p.id, useOptimize.getState().settings))).toEqual([]);
    const onnx = await show('real/onnx/CIFAR10_ImageClassifier.onnx');
    expect(modelTarget(onnx.summary).fixed).toBe(false);
    expect(useOptimize.getState().settings.target).toBe('iOS18');
    expect(PRESETS.filter((p) => presetRefusal(onnx, p.id, useOptimize.getState().settings))).toEqual([]);
    const nn = await show('synthetic/base_nn.mlmodel');
    expect(modelTarget(nn.summary).fixed).toBe(false);
    expect(PRESETS.filter((p) => presetRefusal(nn, p.id, useOptimize.getState().settings))).toEqual([]);
  });
});
