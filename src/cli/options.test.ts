import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, UsageError } from './args';
import { readConfigFile } from './compress';
import { exitCodeFor } from './main';
import { COMPRESS_SPECS, flagsToDicts, planTag, withWeightThreshold } from './options';
import { planFromDict, validatePlan } from '../core/plan';
import { ShrinkrayError } from '../core/errors';

const dicts = (...argv: string[]) => flagsToDicts(parseArgs(['m.mlpackage', '-o', 'o.mlpackage', ...argv], COMPRESS_SPECS));
const usage = (...argv: string[]) => {
  try {
    dicts(...argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return 'no error';
};

describe('parseArgs', () => {
  it('long, short, = forms and numbers', () => {
    const p = parseArgs(['a', '--palettize=4', '-o', 'x', '--group-size', '16', '--per-channel-scale'], COMPRESS_SPECS);
    expect(p.positionals).toEqual(['a']);
    expect(p.values.get('palettize')).toBe(4);
    expect(p.values.get('output')).toBe('x');
    expect(p.values.get('group-size')).toBe(16);
    expect(p.values.get('per-channel-scale')).toBe(true);
  });
  it('rejects unknown options, missing values, non-numbers, repeats and values on flags', () => {
    expect(() => parseArgs(['--nope'], COMPRESS_SPECS)).toThrow(/unknown option --nope/);
    expect(() => parseArgs(['--palettize'], COMPRESS_SPECS)).toThrow(/needs a value/);
    expect(() => parseArgs(['--palettize', 'four'], COMPRESS_SPECS)).toThrow(/expects a number/);
    expect(() => parseArgs(['--prune', '0.5', '--prune', '0.6'], COMPRESS_SPECS)).toThrow(/more than once/);
    expect(() => parseArgs(['--json=yes'], COMPRESS_SPECS)).toThrow(/takes no value/);
  });
});

describe('flags → coremltools config dicts', () => {
  it('palettization', () => {
    expect(dicts('--palettize', '4', '--group-size', '16')).toEqual([
      { config_type: 'OpPalettizerConfig', global_config: { mode: 'kmeans', nbits: 4, group_size: 16, granularity: 'per_grouped_channel' } },
    ]);
    expect(dicts('--mode', 'unique')).toEqual([{ config_type: 'OpPalettizerConfig', global_config: { mode: 'unique' } }]);
    expect(dicts('--palettize', '8', '--mode', 'uniform', '--cluster-dim', '2', '--per-channel-scale', '--lut-dtype', 'int8', '--weight-threshold', '100')[0]
      .global_config).toEqual({ mode: 'uniform', nbits: 8, cluster_dim: 2, enable_per_channel_scale: true, lut_dtype: 'int8', weight_threshold: 100 });
  });
  it('quantization', () => {
    expect(dicts('--quantize', 'int8', '--per-channel')).toEqual([
      { config_type: 'OpLinearQuantizerConfig', global_config: { mode: 'linear_symmetric', dtype: 'int8', granularity: 'per_channel' } },
    ]);
    expect(dicts('--quantize', 'uint4', '--affine', '--per-block', '32')[0].global_config).toEqual({
      mode: 'linear', dtype: 'uint4', granularity: 'per_block', block_size: 32,
    });
  });
  it('pruning and joint (prune first)', () => {
    expect(dicts('--prune', '0.75', '--block-size', '4')).toEqual([
      { config_type: 'OpMagnitudePrunerConfig', global_config: { target_sparsity: 0.75, block_size: 4 } },
    ]);
    expect(dicts('--nm', '2:4')[0].global_config).toEqual({ n_m_ratio: [2, 4] });
    expect(dicts('--threshold', '0.01')).toEqual([{ config_type: 'OpThresholdPrunerConfig', global_config: { threshold: 0.01 } }]);
    const j = dicts('--palettize', '4', '--prune', '0.5');
    expect(j.map((d) => d.config_type)).toEqual(['OpMagnitudePrunerConfig', 'OpPalettizerConfig']);
    expect(planTag(planFromDict(j))).toBe('sp50.pal4');
    expect(planTag(planFromDict(dicts('--quantize', 'int4', '--per-block', '32')))).toBe('q4');
    expect(planTag(planFromDict(dicts('--nm', '2:4')))).toBe('nm2of4');
  });
  it('every flag combination is a dict that the core plan parser accepts, with coremltools defaults filled in', () => {
    const pal = planFromDict(dicts('--palettize', '4', '--group-size', '16'), 'iOS18');
    expect(pal.steps[0].global_config).toMatchObject({ type: 'OpPalettizerConfig', mode: 'kmeans', nbits: 4, granularity: 'per_grouped_channel', group_size: 16, cluster_dim: 1, weight_threshold: 2048 });
    const q = planFromDict(dicts('--quantize', 'int8'), 'iOS16');
    expect(q.steps[0].global_config).toMatchObject({ type: 'OpLinearQuantizerConfig', mode: 'linear_symmetric', dtype: 'int8', granularity: 'per_channel' });
    const joint = planFromDict(dicts('--prune', '0.5', '--palettize', '4', '--weight-threshold', '100'), 'iOS18');
    expect(joint.steps.map((s) => s.global_config?.type)).toEqual(['OpMagnitudePrunerConfig', 'OpPalettizerConfig']);
    expect(joint.steps.map((s) => (s.global_config as { weight_threshold: number }).weight_threshold)).toEqual([100, 100]);
    for (const argv of [
      ['--mode', 'unique'], ['--palettize', '8', '--mode', 'uniform'], ['--palettize', '4', '--cluster-dim', '2'], ['--palettize', '4', '--per-channel-scale'],
      ['--palettize', '4', '--lut-dtype', 'uint8'], ['--quantize', 'uint4', '--affine', '--per-block', '32'], ['--quantize', 'int8', '--per-tensor'],
      ['--nm', '2:4'], ['--threshold', '0.01', '--min-sparsity', '0.3'], ['--prune', '0.75', '--block-size', '4'], ['--prune', '0.5', '--quantize', 'int8'],
    ]) {
      expect(() => validatePlan(planFromDict(dicts(...argv), 'iOS18')), argv.join(' ')).not.toThrow();
    }
  });
  it('usage errors', () => {
    expect(usage()).toMatch(/nothing to do/);
    expect(usage('--palettize', '4', '--quantize', 'int8')).toMatch(/cannot be combined.*--lut-dtype/);
    expect(usage('--quantize', 'int3')).toMatch(/--quantize must be one of int8, uint8, int4, uint4/);
    expect(usage('--quantize', 'int8', '--per-tensor', '--per-channel')).toMatch(/choose one/);
    expect(usage('--quantize', 'int8', '--symmetric', '--affine')).toMatch(/exclude each other/);
    expect(usage('--group-size', '16')).toMatch(/--group-size needs --palettize/);
    expect(usage('--per-block', '32')).toMatch(/--per-block needs --quantize/);
    expect(usage('--prune', '1.5')).toMatch(/target sparsity in \[0, 1\)/);
    expect(usage('--prune', '0.5', '--nm', '2:4')).toMatch(/choose one of --prune, --nm and --threshold/);
    expect(usage('--nm', '2-4')).toMatch(/N:M/);
    expect(usage('--palettize', '2.5')).toMatch(/integer/);
    expect(usage('--palettize', '4', '--mode', 'median')).toMatch(/--mode must be one of/);
    expect(usage('--config', 'c.json', '--palettize', '4')).toMatch(/--config cannot be combined with --palettize/);
  });
});

describe('--config files', () => {
  it('reads JSON and YAML, one dict or a list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-cfg-'));
    try {
      const one = { config_type: 'OpPalettizerConfig', global_config: { mode: 'kmeans', nbits: 4 }, op_name_configs: { conv1: null } };
      writeFileSync(join(dir, 'a.json'), JSON.stringify(one));
      expect(readConfigFile(join(dir, 'a.json'))).toEqual(one);
      writeFileSync(join(dir, 'b.yaml'), 'config_type: OpLinearQuantizerConfig\nglobal_config:\n  mode: linear_symmetric\n  dtype: int8\nop_type_configs:\n  linear: null\n');
      expect(readConfigFile(join(dir, 'b.yaml'))).toEqual(
        { config_type: 'OpLinearQuantizerConfig', global_config: { mode: 'linear_symmetric', dtype: 'int8' }, op_type_configs: { linear: null } },
      );
      writeFileSync(join(dir, 'c.yml'), '- config_type: OpMagnitudePrunerConfig\n  global_config: {target_sparsity: 0.5}\n- config_type: OpPalettizerConfig\n  global_config: {nbits: 4}\n');
      const steps = readConfigFile(join(dir, 'c.yml'));
      expect(planFromDict(steps).steps.map((s) => s.global_config?.type)).toEqual(['OpMagnitudePrunerConfig', 'OpPalettizerConfig']);
      expect(withWeightThreshold(steps, 10)).toEqual([
        { config_type: 'OpMagnitudePrunerConfig', global_config: { target_sparsity: 0.5, weight_threshold: 10 } },
        { config_type: 'OpPalettizerConfig', global_config: { nbits: 4, weight_threshold: 10 } },
      ]);
      writeFileSync(join(dir, 'bad.json'), '{"config_type": ');
      expect(() => readConfigFile(join(dir, 'bad.json'))).toThrow(/not valid JSON/);
      expect(() => readConfigFile(join(dir, 'none.json'))).toThrow(/not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('exit codes', () => {
  it('maps errors to 1 (model), 2 (usage/options), 3 (internal)', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new ShrinkrayError('invalid-option', 'x'))).toBe(2);
    expect(exitCodeFor(new ShrinkrayError('target-too-low', 'x'))).toBe(2);
    for (const c of ['empty-file', 'protobuf-decode', 'manifest-missing', 'blob-header', 'zip-unsafe-path', 'external-data-missing'] as const) {
      expect(exitCodeFor(new ShrinkrayError(c, 'x'))).toBe(1);
    }
    expect(exitCodeFor(new ShrinkrayError('internal', 'x'))).toBe(3);
    expect(exitCodeFor(new TypeError('boom'))).toBe(3);
  });
});
