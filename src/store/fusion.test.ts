/**
 * The optimizer works on the fused model when a NeuralNetwork model is quantized below 16 bits (as coremltools'
 * quantize_weights fuses conv + batchnorm first), and on the model as loaded otherwise; the fusion is made once
 * per model. The engine is mocked (no worker pool in Node): every job "compresses" to a fixed size.
 */
import { describe, expect, it, vi } from 'vitest';
import type { WeightResult } from '../core/compress/types';
import { loadModel } from '../core/formats';
import { globalPlan } from '../core/plan';
import { pathTree } from '../node/fs-tree';
import { fixture } from '../../tests/fixtures';

vi.mock('./engine', async (orig) => {
  const real = await orig<typeof import('./engine')>();
  const fake = (id: string): WeightResult => ({ id, status: 'compressed', bytesBefore: 100, bytesAfter: 10, snrDb: 40 }) as unknown as WeightResult;
  return {
    ...real,
    cachedResult: () => undefined,
    runJob: async (_m: unknown, item: { id: string }) => fake(item.id),
    runCurve: async (_m: unknown, items: { id: string }[]) => items.map((i) => fake(i.id)),
  };
});

const { useModel } = await import('./model');
const { useOptimize } = await import('./optimize');
const fusion = await import('./fusion');

const POSE = fixture('real', 'coreml', 'PoseEstimation_CPM.mlmodel');

async function show(path: string) {
  const tree = pathTree(path);
  const model = await loadModel(tree);
  useModel.setState((s) => ({ model, tree, generation: s.generation + 1 }));
  return model;
}

const until = async (f: () => boolean) => {
  for (let i = 0; i < 2000 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(f()).toBe(true);
};

describe('fused model in the optimizer', () => {
  it('workingModel: fp16 and pruning use the model as loaded; 8-bit fuses once and caches', async () => {
    const tree = pathTree(POSE);
    const model = await loadModel(tree);
    const fp16 = fusion.workingModel(model, tree, globalPlan({ type: 'NNQuantizeConfig', nbits: 16, quantization_mode: 'linear' }));
    expect(fp16).toEqual({ ok: true, value: { model, fused: false, note: null, changed: null } });
    const prune = fusion.workingModel(model, tree, globalPlan({ type: 'OpMagnitudePrunerConfig', target_sparsity: 0.5 } as never));
    expect(!(prune instanceof Promise) && prune.ok && prune.value.model).toBe(model);
    const runs = fusion.fusionRuns;
    const q8 = fusion.workingModel(model, tree, globalPlan({ type: 'NNQuantizeConfig', nbits: 8, quantization_mode: 'linear' }));
    expect(q8).toBeInstanceOf(Promise);
    const s = await q8;
    if (!s.ok) throw new Error(s.error);
    expect(s.value.fused).toBe(true);
    expect(fusion.isFusedModel(s.value.model)).toBe(true);
    expect(s.value.note).toMatch(/^93 layers were fused into the layer before them before quantizing, as coremltools' quantize_weights does \(93 convolution\+batchnorm\)$/);
    // later calls (another bit width) answer at once with the same fused model
    const again = fusion.workingModel(model, tree, globalPlan({ type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'kmeans_lut' }));
    expect(again instanceof Promise).toBe(false);
    expect(!(again instanceof Promise) && again.ok && again.value.model).toBe(s.value.model);
    expect(fusion.fusionRuns).toBe(runs + 1);
  });

  it('store: int8 works on the fused model, pruning goes back to the loaded one, 8-bit palettization reuses the fusion', async () => {
    const model = await show(POSE);
    expect(model.weights.length).toBe(517);
    const runs = fusion.fusionRuns;
    useOptimize.getState().usePreset('q8');
    expect(useOptimize.getState().fusing).toBe(true);
    await until(() => !useOptimize.getState().fusing && useOptimize.getState().done === useOptimize.getState().total && useOptimize.getState().total > 0);
    let st = useOptimize.getState();
    expect(st.planError).toBeNull();
    const fused = st.work!;
    expect(fused).not.toBe(model);
    expect(st.fusionNote).toMatch(/^93 layers were fused/);
    expect(fused.weights.filter((w) => w.opType.startsWith('batchnorm.')).length).toBe(0);
    // the 93 convs that absorbed a batchnorm: their weights changed and their biases are new
    expect(st.fusedChanged?.size).toBe(186);
    expect(fused.weights.filter((w) => st.fusedChanged!.has(w.id) && w.opType === 'convolution.bias').length).toBe(93);
    // results are keyed by the fused model's weights; the loaded inventory is untouched
    expect(Object.keys(st.results).sort()).toEqual(fused.weights.map((w) => w.id).sort());
    expect(useModel.getState().model).toBe(model);
    expect(useModel.getState().model!.weights.length).toBe(517);

    // pruning does not quantize: back to the model as loaded, no note
    useOptimize.getState().usePreset('prune50');
    st = useOptimize.getState();
    expect(st.fusing).toBe(false);
    expect(st.work).toBe(model);
    expect(st.fusionNote).toBeNull();
    expect(st.fusedChanged).toBeNull();
    await until(() => useOptimize.getState().done === useOptimize.getState().total);
    expect(Object.keys(useOptimize.getState().results).sort()).toEqual(model.weights.map((w) => w.id).sort());

    // 8-bit palettization: fused again, synchronously from the cache, without fusing a second time
    useOptimize.getState().usePreset('pal8');
    st = useOptimize.getState();
    expect(st.fusing).toBe(false);
    expect(st.work).toBe(fused);
    expect(st.fusionNote).toMatch(/^93 layers were fused/);
    expect(fusion.fusionRuns).toBe(runs + 1);
  });

  it('store: a change to a plan without fusion made while fusing applies at once and stays after the fusion ends', async () => {
    const model = await show(POSE);
    useOptimize.getState().usePreset('q8');
    expect(useOptimize.getState().fusing).toBe(true);
    useOptimize.getState().usePreset('prune50');
    expect(useOptimize.getState().work).toBe(model);
    expect(useOptimize.getState().fusing).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    const st = useOptimize.getState();
    expect(st.work).toBe(model);
    expect(st.fusionNote).toBeNull();
    expect(st.fusing).toBe(false);
    expect(st.plan?.steps[0].global_config?.type).toBe('OpMagnitudePrunerConfig');
    expect(Object.keys(st.results).sort()).toEqual(model.weights.map((w) => w.id).sort());
  });
});
