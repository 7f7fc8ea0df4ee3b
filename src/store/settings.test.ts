import { describe, expect, it } from 'vitest';
import { selectJobs } from '../core/engine';
import { loadModel } from '../core/formats';
import { planFromText, planToJson, planToYaml, validatePlan } from '../core/plan';
import { pathTree } from '../node/fs-tree';
import { fixture } from '../../tests/fixtures';
import { applyPreset, buildPlan, DEFAULT_SETTINGS, needsIOS18, PRESETS, presetOverride, settingsFromPlan, tagFor } from './settings';

describe('presets and plans', () => {
  it('every preset is a valid plan for its own target, and iOS18 presets say they need iOS18', () => {
    for (const p of PRESETS) {
      const s = applyPreset(DEFAULT_SETTINGS, p);
      const plan = buildPlan(s, {}, {});
      expect(() => validatePlan(plan), p.label).not.toThrow();
      expect(plan.target).toBe(p.label.includes('iOS18') ? 'iOS18' : 'iOS16');
      expect(!!needsIOS18(s), p.label).toBe(p.label.includes('iOS18'));
    }
  });

  it('joint presets become two steps: prune, then palettize', () => {
    const plan = buildPlan(applyPreset(DEFAULT_SETTINGS, PRESETS.find((p) => p.id === 'prune50pal4')!), {}, {});
    expect(plan.steps.map((s) => s.global_config?.type)).toEqual(['OpMagnitudePrunerConfig', 'OpPalettizerConfig']);
  });

  it('overrides become op_name_configs / op_type_configs; skip is null; shorter settings give null in later steps', () => {
    const g = applyPreset(DEFAULT_SETTINGS, PRESETS.find((p) => p.id === 'prune50pal4')!);
    const plan = buildPlan(g, { conv: { kind: 'skip' } }, { lin: presetOverride('q8')! });
    expect(plan.steps).toHaveLength(2);
    expect(plan.steps[0].op_type_configs).toEqual({ conv: null });
    expect(plan.steps[1].op_type_configs).toEqual({ conv: null });
    expect(plan.steps[0].op_name_configs?.lin?.type).toBe('OpLinearQuantizerConfig');
    expect(plan.steps[1].op_name_configs?.lin).toBeNull();
  });

  it('export → import through JSON and YAML gives back the same plan and the same controls', () => {
    const g = applyPreset(DEFAULT_SETTINGS, PRESETS.find((p) => p.id === 'pal8')!);
    const plan = buildPlan(g, { linear: { kind: 'skip' } }, { conv2_weight_to_fp16: presetOverride('pal6')! });
    for (const text of [planToJson(plan), planToYaml(plan)]) {
      const back = planFromText(text, plan.target);
      expect(back).toEqual(plan);
      const m = settingsFromPlan(back, (c) => c.type);
      expect(m.exact).toBe(true);
      expect(m.settings).toEqual(g);
      expect(m.byType).toEqual({ linear: { kind: 'skip' } });
      expect(buildPlan(m.settings, m.byType, m.byName)).toEqual(plan);
    }
  });

  it('a plan with options the controls lack is flagged as not exact', () => {
    const plan = planFromText(JSON.stringify({ config_type: 'OpPalettizerConfig', global_config: { mode: 'kmeans', nbits: 4, cluster_dim: 2 } }), 'iOS18');
    expect(settingsFromPlan(plan, (c) => c.type).exact).toBe(false);
  });

  it('file-name tags say what was done', () => {
    const t = (id: string) => tagFor(applyPreset(DEFAULT_SETTINGS, PRESETS.find((p) => p.id === id)!), 0);
    expect(t('pal8')).toBe('pal8');
    expect(t('q8')).toBe('q8');
    expect(t('pal4g16')).toBe('pal4g16');
    expect(t('q4b32')).toBe('q4b32');
    expect(t('prune50')).toBe('prune50');
    expect(t('prune50pal4')).toBe('prune50.pal4');
    expect(tagFor(DEFAULT_SETTINGS, 2)).toBe('pal8.mixed');
  });

  it('a layer override reaches the engine: the named weight gets its own config, a skipped one its reason', async () => {
    const model = await loadModel(pathTree(fixture('synthetic/base_ios16.mlpackage')));
    const g = applyPreset(DEFAULT_SETTINGS, PRESETS.find((p) => p.id === 'pal8')!);
    const plan = buildPlan(g, {}, { linear2_weight_to_fp16: { kind: 'skip' }, conv2_weight_to_fp16: presetOverride('pal6')! });
    const { jobs, skipped } = selectJobs(model, plan);
    expect(jobs.find((j) => j.name === 'conv2_weight_to_fp16')?.label).toContain('6-bit');
    expect(jobs.find((j) => j.name === 'linear1_weight_to_fp16')?.label).toContain('8-bit');
    const lin2 = model.weights.find((w) => w.name === 'linear2_weight_to_fp16')!;
    expect(skipped.find((s) => s.id === lin2.id)?.reason).toBeTruthy();
  });
});
