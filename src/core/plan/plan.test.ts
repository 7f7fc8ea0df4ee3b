import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isShrinkrayError, ShrinkrayError } from '../errors';
import type { CompressionPlan, OpConfig } from '../compress/types';
import type { WeightInfo } from '../model/types';
import {
  globalPlan,
  jointPlan,
  linearQuantizerConfig,
  magnitudePrunerConfig,
  palettizerConfig,
  planFromDict,
  planFromText,
  planToJson,
  planToYaml,
  pythonSnippet,
  resolveConfig,
  thresholdPrunerConfig,
  validatePlan,
  optimizationConfigFromDict,
} from './index';

function refusal(f: () => unknown): ShrinkrayError {
  try {
    f();
  } catch (e) {
    if (isShrinkrayError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('config constructors and validation', () => {
  it('uses coremltools defaults', () => {
    expect(palettizerConfig({ nbits: 4 })).toMatchObject({ mode: 'kmeans', granularity: 'per_tensor', group_size: 32, cluster_dim: 1, enable_per_channel_scale: false, weight_threshold: 2048 });
    expect(linearQuantizerConfig()).toMatchObject({ mode: 'linear_symmetric', dtype: 'int8', granularity: 'per_channel', block_size: 32, weight_threshold: 2048 });
    expect(thresholdPrunerConfig()).toMatchObject({ threshold: 1e-12, minimum_sparsity_percentile: 0.5 });
    expect(magnitudePrunerConfig({ n_m_ratio: [2, 4] }).dim).toBe(1);
    expect(magnitudePrunerConfig({ target_sparsity: 0.5, block_size: 2 }).dim).toBe(0);
  });

  it('refuses invalid options with a message naming the option', () => {
    expect(refusal(() => palettizerConfig({ nbits: 5 })).message).toMatch(/nbits must be one of 1, 2, 3, 4, 6, 8/);
    expect(refusal(() => palettizerConfig({})).message).toMatch(/"nbits" must be provided for kmeans/);
    expect(refusal(() => palettizerConfig({ mode: 'unique', nbits: 4 })).message).toMatch(/must NOT be provided/);
    expect(refusal(() => palettizerConfig({ mode: 'uniform', nbits: 4, cluster_dim: 2 })).message).toMatch(/uniform/);
    expect(refusal(() => linearQuantizerConfig({ dtype: 'int2' as never })).message).toMatch(/dtype/);
    expect(refusal(() => magnitudePrunerConfig({})).message).toMatch(/either "target_sparsity" or "n_m_ratio"/);
    expect(refusal(() => magnitudePrunerConfig({ target_sparsity: 1.5 })).message).toMatch(/\[0, 1\]/);
    expect(refusal(() => magnitudePrunerConfig({ n_m_ratio: [3, 2] })).message).toMatch(/n <= m/);
    expect(refusal(() => magnitudePrunerConfig({ target_sparsity: 0.5, block_size: 1 })).message).toMatch(/> 1/);
    expect(refusal(() => magnitudePrunerConfig({ target_sparsity: 0.5, dim: 1 })).message).toMatch(/"dim" can only be set/);
    expect(refusal(() => thresholdPrunerConfig({ minimum_sparsity_percentile: 2 })).message).toMatch(/minimum_sparsity_percentile/);
  });

  it('refuses iOS18-only options for iOS16/iOS17 with the target it needs', () => {
    const cases: [OpConfig, RegExp][] = [
      [palettizerConfig({ nbits: 4, granularity: 'per_grouped_channel', group_size: 16 }), /per_grouped_channel needs iOS18 \(deployment target is iOS16\)/],
      [palettizerConfig({ nbits: 4, cluster_dim: 2 }), /vector palettization .* needs iOS18/],
      [palettizerConfig({ nbits: 4, enable_per_channel_scale: true }), /enable_per_channel_scale needs iOS18/],
      [palettizerConfig({ nbits: 3 }), /3-bit palettization needs iOS18/],
      [linearQuantizerConfig({ dtype: 'int4' }), /int4 quantization needs iOS18/],
      [linearQuantizerConfig({ granularity: 'per_block' }), /per_block quantization needs iOS18/],
    ];
    for (const [c, re] of cases) {
      const e = refusal(() => validatePlan(globalPlan(c, 'iOS16')));
      expect(e.code).toBe('target-too-low');
      expect(e.message).toMatch(re);
      expect(() => validatePlan(globalPlan(c, 'iOS18'))).not.toThrow();
    }
    expect(refusal(() => validatePlan(globalPlan(linearQuantizerConfig({ dtype: 'uint4' }), 'iOS17'))).message).toMatch(/deployment target is iOS17/);
    expect(refusal(() => validatePlan(jointPlan([magnitudePrunerConfig({ target_sparsity: 0.5 }), palettizerConfig({ nbits: 4 })], 'iOS16'))).message).toMatch(
      /joint compression needs iOS18/,
    );
  });

  it('refuses joint orders coremltools cannot express', () => {
    expect(refusal(() => validatePlan(jointPlan([palettizerConfig({ nbits: 4 }), magnitudePrunerConfig({ target_sparsity: 0.5 })]))).message).toMatch(/cannot follow/);
    expect(refusal(() => validatePlan(jointPlan([palettizerConfig({ nbits: 4 }), linearQuantizerConfig({ granularity: 'per_channel' })]))).message).toMatch(/per_tensor/);
    expect(() => validatePlan(jointPlan([magnitudePrunerConfig({ target_sparsity: 0.5 }), palettizerConfig({ nbits: 4 }), linearQuantizerConfig({ granularity: 'per_tensor' })]))).not.toThrow();
  });
});

const w = (name: string, consumers: [string, string][]): WeightInfo => ({
  id: `main/${name}`,
  name,
  baseName: name,
  opType: 'const',
  consumers: consumers.map(([n, t]) => ({ name: n, type: t, param: 'weight' })),
  shape: [64, 64],
  dtype: 'fp16',
  count: 4096,
  bytes: 8192,
  location: { kind: 'inline' },
});

describe('OptimizationConfig resolution', () => {
  const g = palettizerConfig({ nbits: 4 });
  const t = palettizerConfig({ nbits: 2 });
  const n = linearQuantizerConfig();
  it('const name, then consumer name → consumer type → global', () => {
    const oc = { global_config: g, op_type_configs: { conv: t }, op_name_configs: { lin1: n, w_named: null } };
    expect(resolveConfig(oc, w('a', [['c1', 'conv']]))).toEqual({ config: t });
    expect(resolveConfig(oc, w('a', [['lin1', 'linear']]))).toEqual({ config: n });
    expect(resolveConfig(oc, w('a', [['lin2', 'linear']]))).toEqual({ config: g });
    expect(resolveConfig(oc, w('w_named', [['c1', 'conv']])).config).toBeNull();
    expect(resolveConfig({ op_type_configs: { linear: null } }, w('a', [['l', 'linear']]))).toMatchObject({ config: null, reason: /op_type_configs\["linear"\] = None/ });
  });
  it('conflicting configs on a shared weight are skipped with both consumers named', () => {
    const r = resolveConfig({ global_config: g, op_type_configs: { conv: t } }, w('shared', [['c1', 'conv'], ['l1', 'linear']]));
    expect(r.config).toBeNull();
    expect((r as { reason: string }).reason).toMatch(/conflicting configs on a shared weight: c1 \(conv\).*l1 \(linear\)/);
    // equal configs (by value) do not conflict
    expect(resolveConfig({ global_config: g, op_type_configs: { conv: palettizerConfig({ nbits: 4 }) } }, w('s', [['c1', 'conv'], ['l1', 'linear']])).config).toEqual(g);
  });
  it('no consumers → skipped', () => {
    expect(resolveConfig({ global_config: g }, w('x', [])).config).toBeNull();
  });
});

describe('coremltools dict form', () => {
  it('reads the documented from_dict example', () => {
    const oc = optimizationConfigFromDict({
      config_type: 'OpPalettizerConfig',
      global_config: { mode: 'kmeans', nbits: 4 },
      op_type_configs: { conv: { mode: 'uniform', nbits: 1 } },
      op_name_configs: { conv_1: { mode: 'unique' }, conv_2: null },
    });
    expect(oc.global_config).toMatchObject({ type: 'OpPalettizerConfig', mode: 'kmeans', nbits: 4 });
    expect(oc.op_type_configs!.conv).toMatchObject({ mode: 'uniform', nbits: 1 });
    expect(oc.op_name_configs!.conv_1).toMatchObject({ mode: 'unique' });
    expect(oc.op_name_configs!.conv_2).toBeNull();
    const mixed = optimizationConfigFromDict({
      config_type: 'OpThresholdPrunerConfig',
      global_config: { threshold: 0.01 },
      op_type_configs: { conv: { config_type: 'OpMagnitudePrunerConfig', n_m_ratio: [3, 4] } },
    });
    expect(mixed.global_config!.type).toBe('OpThresholdPrunerConfig');
    expect(mixed.op_type_configs!.conv).toMatchObject({ type: 'OpMagnitudePrunerConfig', n_m_ratio: [3, 4], dim: 1 });
  });

  it('refuses unknown keys like cattrs forbid_extra_keys', () => {
    expect(() => optimizationConfigFromDict({ config_type: 'OpPalettizerConfig', global_config: { nbits: 4, bogus: 1 } })).toThrow(/unknown key "bogus"/);
    expect(() => optimizationConfigFromDict({ global: {} })).toThrow(/invalid key "global"/);
    expect(() => optimizationConfigFromDict({ config_type: 'OpPalettizerConfig', op_type_configs: { const: { nbits: 4 } } })).toThrow(/const ops/);
  });

  it('round-trips plans through JSON and YAML', () => {
    const cfgArb = fc.oneof(
      fc.record({ nbits: fc.constantFrom(1, 2, 4, 6, 8), mode: fc.constantFrom<'kmeans' | 'uniform'>('kmeans', 'uniform'), gs: fc.integer({ min: 1, max: 64 }) }).map((o) =>
        palettizerConfig({ nbits: o.nbits, mode: o.mode, granularity: 'per_grouped_channel', group_size: o.gs }),
      ),
      fc.record({ dtype: fc.constantFrom<'int8' | 'uint4'>('int8', 'uint4'), bs: fc.integer({ min: 1, max: 64 }) }).map((o) =>
        linearQuantizerConfig({ dtype: o.dtype, granularity: 'per_block', block_size: o.bs }),
      ),
      fc.double({ min: 0, max: 1, noNaN: true }).map((s) => magnitudePrunerConfig({ target_sparsity: s })),
    );
    fc.assert(
      fc.property(cfgArb, cfgArb, fc.option(cfgArb, { nil: null }), (a, b, c) => {
        const plan: CompressionPlan = { target: 'iOS18', steps: [{ global_config: a, op_type_configs: { conv: b }, op_name_configs: { x: c } }] };
        expect(planFromText(planToJson(plan), 'iOS18', 'p.json')).toEqual(plan);
        expect(planFromText(planToYaml(plan), 'iOS18', 'p.yaml')).toEqual(plan);
      }),
      { numRuns: 60 },
    );
    const joint = jointPlan([magnitudePrunerConfig({ target_sparsity: 0.5 }), palettizerConfig({ nbits: 4 })]);
    expect(planFromDict(JSON.parse(planToJson(joint)))).toEqual(joint);
  });

  it('reads YAML as coremltools from_yaml does', () => {
    const plan = planFromText(
      ['config_type: OpLinearQuantizerConfig', 'global_config:', '  mode: linear_symmetric', '  dtype: int4', '  granularity: per_block', '  block_size: 32', 'op_name_configs:', '  conv1_weight: null', ''].join('\n'),
      'iOS18',
      'c.yaml',
    );
    expect(plan.steps[0].global_config).toMatchObject({ type: 'OpLinearQuantizerConfig', dtype: 'int4', granularity: 'per_block', block_size: 32 });
    expect(plan.steps[0].op_name_configs).toEqual({ conv1_weight: null });
    expect(() => planFromText('global_config: [', 'iOS18', 'bad.yaml')).toThrow(/bad.yaml: not valid JSON or YAML/);
  });

  it('writes Python that reproduces the plan', () => {
    const py = pythonSnippet(
      { target: 'iOS18', steps: [{ global_config: magnitudePrunerConfig({ target_sparsity: 0.5 }) }, { global_config: palettizerConfig({ nbits: 4 }), op_name_configs: { conv1: null } }] },
      'In.mlpackage',
    );
    expect(py).toContain('import coremltools.optimize.coreml as cto');
    expect(py).toContain('cto.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=2048)');
    expect(py).toContain('model = cto.prune_weights(model, config_1)');
    expect(py).toContain('model = cto.palettize_weights(model, config_2, joint_compression=True)');
    expect(py).toContain('"conv1": None');
    expect(py).toContain('nbits=4');
  });
});
