/**
 * Golden tests: every config of ../shared/fixtures/golden/configs.json, on every model it was applied to.
 * - expected_error configs: the plan is refused (validation / target legality / no weights);
 * - structure: the same set of compressed weights (by base_name), the uncompressed float weights skipped;
 * - deterministic configs: stored integers, LUTs, scales, zero points, masks and decompressed values equal the
 *   golden arrays (read with the Core ML reader);
 * - k-means configs: SSE per weight <= sse_by_weight × (1 + 1e-6).
 * Tie-breaking caveats (all reproduced, see the kernels): round half to even; fp16 intermediates for fp16
 * weights; pruning ties at the threshold all pruned; n:m ties → lower index pruned first.
 */
import { describe, expect, it } from 'vitest';
import { fixture, readJson } from '../../../tests/fixtures';
import { loadModel } from '../formats/index';
import { pathTree } from '../../node/fs-tree';
import type { LoadedModel } from '../model/types';
import type { CompressionPlan, Compressed, OptimizationConfig, Target } from '../compress/types';
import { opConfigFromDict } from '../plan/dict';
import { runPlan } from './run';
import { selectJobs } from './select';
import { decompress } from '../compress/decompress';
import { sse } from '../compress/metrics';

const configs = readJson('golden', 'configs.json').configs as Record<string, any>;

const cache = new Map<string, Promise<LoadedModel>>();
function load(rel: string): Promise<LoadedModel> {
  let p = cache.get(rel);
  if (!p) cache.set(rel, (p = loadModel(pathTree(fixture(rel)))));
  return p;
}

function targetOf(spec: number | undefined): Target {
  return (spec ?? 0) >= 9 ? 'iOS18' : 'iOS16';
}

function planOf(cfg: any, target: Target): CompressionPlan {
  const steps: OptimizationConfig[] = cfg.calls.map((c: any) => {
    if (c.api.includes('neural_network')) {
      return { global_config: { type: 'NNQuantizeConfig', nbits: c.args.nbits, quantization_mode: c.args.quantization_mode } };
    }
    return { global_config: opConfigFromDict(c.op_config, { ...c.args }) };
  });
  return { target, steps };
}

function arr(a: ArrayLike<number> | undefined): number[] {
  return a ? Array.from(a) : [];
}

/** Compare stored arrays where both representations hold them in the same form. */
function compareStored(ours: Compressed, gold: Compressed, name: string): void {
  expect(ours.kind, `${name} kind`).toBe(gold.kind);
  if (ours.kind === 'affine' && gold.kind === 'affine') {
    expect(arr(ours.data), `${name} codes`).toEqual(arr(gold.data));
    expect(arr(ours.scale), `${name} scale`).toEqual(arr(gold.scale));
    const zo = arr(ours.offset ?? new Int8Array(ours.scale.length));
    const zg = arr(gold.offset ?? new Int8Array(gold.scale.length));
    expect(zo, `${name} offset`).toEqual(zg);
  } else if (ours.kind === 'lut' && gold.kind === 'lut') {
    expect(arr(ours.indices), `${name} indices`).toEqual(arr(gold.indices));
    expect(arr(ours.lut), `${name} lut`).toEqual(arr(gold.lut));
  } else if (ours.kind === 'sparse' && gold.kind === 'sparse') {
    expect(arr(ours.mask), `${name} mask`).toEqual(arr(gold.mask));
    expect(arr(ours.values), `${name} nonzeros`).toEqual(arr(gold.values));
    if (ours.inner && gold.inner) compareStored(ours.inner, gold.inner, `${name} inner`);
  } else if (ours.kind === 'nnlinear' && gold.kind === 'nnlinear') {
    expect(arr(ours.data), `${name} codes`).toEqual(arr(gold.data));
    expect(arr(ours.scale), `${name} scale`).toEqual(arr(gold.scale));
    expect(arr(ours.bias), `${name} bias`).toEqual(arr(gold.bias));
  }
}

const cases: [string, string][] = [];
for (const [id, cfg] of Object.entries(configs)) for (const model of Object.keys(cfg.applied_to)) cases.push([id, model]);

describe('golden configs', () => {
  it.each(cases)('%s on %s', async (id, modelName) => {
    const cfg = configs[id];
    const app = cfg.applied_to[modelName];
    const base = await load(app.input);
    const target = targetOf(base.summary.specificationVersion);
    if (app.expected_error) {
      let err: unknown = null;
      try {
        await runPlan(base, planOf(cfg, target));
      } catch (e) {
        err = e;
      }
      expect(err, `${id} on ${modelName} must be refused`).toBeInstanceOf(Error);
      return;
    }
    const plan = planOf(cfg, target);
    const results = await runPlan(base, plan);
    const gold = await load(app.output);
    const isNN = cfg.calls[0].api.includes('neural_network');
    // neural networks have no constexpr ops: the compressed fields are those whose storage is no longer float32
    const compressed = new Set<string>(
      isNN
        ? (readJson(...(app.inspect as string).split('/')).weights as any[]).filter((w) => w.dtype !== 'float32').map((w) => w.base_name)
        : (app.compressed_weights as string[]),
    );
    // structure: which weights got compressed
    const byBase = new Map(base.weights.map((w) => [w.name, w]));
    const ours = new Set<string>();
    for (const w of base.weights) if (results.get(w.id)?.status === 'compressed') ours.add(w.baseName);
    expect([...ours].sort(), 'compressed weights').toEqual([...compressed].sort());
    for (const u of app.uncompressed_float_weights ?? []) {
      const w = byBase.get(u);
      if (w) expect(results.get(w.id)?.status, `${u} stays uncompressed`).not.toBe('compressed');
    }
    for (const gw of gold.weights) {
      if (!compressed.has(gw.baseName)) continue;
      const bw = byBase.get(gw.baseName)!;
      expect(bw, `base weight ${gw.baseName}`).toBeDefined();
      const res = results.get(bw.id)!;
      expect(res.status, `${gw.baseName}: ${res.reason}`).toBe('compressed');
      // exact bytes: the reader's byte count of coremltools' stored weight
      expect(res.bytesAfter, `${gw.baseName} bytes`).toBe(gw.bytes);
      const dense = await base.readDense(bw.id);
      if (cfg.deterministic) {
        const goldRepr = await gold.readRepr(gw.id);
        compareStored(res.repr!, goldRepr, gw.baseName);
        const ref = await gold.readFloat32(gw.id);
        expect(arr(decompress(res.repr!)), `${gw.baseName} decompressed`).toEqual(arr(ref));
      } else {
        const bound = app.sse_by_weight[gw.baseName] as number;
        const s = sse(dense, res.repr!);
        expect(s, `${gw.baseName} SSE ${s} vs coremltools ${bound}`).toBeLessThanOrEqual(bound * (1 + 1e-6));
        if (id === 'joint-prune50-pal4') {
          const goldRepr = await gold.readRepr(gw.id);
          if (goldRepr.kind === 'sparse' && res.repr!.kind === 'sparse') expect(arr(res.repr!.mask)).toEqual(arr(goldRepr.mask));
        }
      }
    }
  }, 120_000);

  it('selectJobs gives every weight a job or a skip reason', async () => {
    const base = await load('synthetic/base_ios16.mlpackage');
    const { jobs, skipped } = selectJobs(base, planOf(configs['q-int8-sym-channel'], 'iOS16'));
    expect(jobs.length + skipped.length).toBe(base.weights.length);
    for (const s of skipped) expect(s.reason && s.reason.length > 5).toBe(true);
    const conv1 = skipped.find((s) => s.id.includes('conv1_weight'))!;
    expect(conv1.reason).toMatch(/not more than weight_threshold 2048/);
    const bias = skipped.find((s) => s.id.includes('conv1_bias'))!;
    expect(bias.reason).toMatch(/rank-1/);
  });
});
