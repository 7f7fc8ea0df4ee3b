/** `shrinkray compress` end to end, as a child process: the output loads back with the weights compressed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fixture, readJson, REPO } from '../../tests/fixtures';
import { loadPath } from '../node/load';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface InspectWeight {
  name: string;
  opType: string;
  dtype: string;
  shape: number[];
  compression?: { kind: string; nbits?: number; opChain: string[] };
}

function inspectJson(path: string): { summary: { specificationVersion?: number; opsets?: string[]; weightCount: number }; weights: InspectWeight[] } {
  const r = cli('inspect', path, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-cli-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

// CLI flags for golden configs (golden/configs.json → calls), with the golden output's inspection to compare against.
const CASES: [model: string, config: string, flags: string[]][] = [
  ['base_ios16', 'pal-kmeans-4-tensor', ['--palettize', '4']],
  ['base_ios16', 'pal-uniform-6-tensor', ['--palettize', '6', '--mode', 'uniform']],
  ['base_ios16', 'q-int8-sym-channel', ['--quantize', 'int8', '--per-channel']],
  ['base_ios16', 'q-uint8-affine-tensor', ['--quantize', 'uint8', '--affine', '--per-tensor']],
  ['base_ios16', 'prune-mag-50', ['--prune', '0.5']],
  ['base_ios18', 'pal-kmeans-4-group16', ['--palettize', '4', '--group-size', '16']],
  ['base_ios18', 'q-int4-sym-block32', ['--quantize', 'int4', '--per-block', '32']],
  ['base_ios18', 'prune-nm-2of4', ['--nm', '2:4']],
  ['base_ios18', 'joint-prune50-pal4', ['--prune', '0.5', '--palettize', '4']],
  ['base_nn', 'nn-linear-8', ['--quantize', 'int8', '--affine']],
  ['base_nn', 'nn-kmeans-4', ['--palettize', '4']],
  ['MNIST_CNN', 'nn-linear-sym-8', ['--quantize', 'int8']],
];

const CONFIGS = readJson('golden/configs.json').configs as Record<string, { deterministic: boolean }>;

describe('compress → output with the structure coremltools writes for the same config', () => {
  it.each(CASES)('%s %s', async (model, config, flags) => {
    const base = readJson(`golden/${model}/base.json`);
    const golden = readJson(`golden/${model}/${config}.json`);
    const out = join(tmp, `${model}.${config}.${String(base.path).endsWith('.mlmodel') ? 'mlmodel' : 'mlpackage'}`);
    const r = cli('compress', fixture(base.path), '-o', out, ...flags, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(''); // --quiet
    const got = inspectJson(out);
    expect(got.summary.specificationVersion).toBe(golden.specification_version);
    expect(got.summary.opsets).toEqual(golden.opsets);
    expect(got.weights).toHaveLength(golden.weight_count);
    for (const gw of golden.weights) {
      const w = got.weights.find((x) => x.name === gw.name);
      expect(w, gw.name).toBeDefined();
      expect(w!.opType, gw.name).toBe(gw.op_type);
      expect(w!.shape).toEqual(gw.shape);
      expect(w!.dtype, gw.name).toBe(gw.dtype);
      if (gw.storage && !Array.isArray(gw.storage)) {
        // neural network: dtype is the storage kind; the bit width must match too
        if (gw.storage.nbits !== undefined) expect(w!.compression?.nbits, gw.name).toBe(gw.storage.nbits);
      } else if (gw.op_chain) expect(w!.compression?.opChain, gw.name).toEqual(gw.op_chain);
      else expect(w!.compression, gw.name).toBeUndefined();
    }
    // Deterministic configs: the values read back equal coremltools' (sha256 of the float32 values).
    if (CONFIGS[config].deterministic) {
      const back = await loadPath(out);
      for (const gw of golden.weights) {
        const w = back.weights.find((x) => x.name === gw.name)!;
        const v = await back.readFloat32(w.id);
        const sha = createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
        expect(sha, `${config} ${gw.name}`).toBe(gw.values.sha256_f32le);
      }
    }
  });
});

describe('compress: formats, report and failures', () => {
  it('.mlpackage.zip in, .mlpackage.zip out; --json report matches what inspect reads back', () => {
    const out = join(tmp, 'Part1.q8.mlpackage.zip');
    const r = cli('compress', fixture('real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage.zip'), '-o', out, '--quantize', 'int8', '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.output).toBe(out);
    expect(rep.target).toBe('iOS16');
    expect(rep.totals.weights).toBe(12);
    expect(rep.weights).toHaveLength(12);
    expect(rep.config).toMatchObject({ config_type: 'OpLinearQuantizerConfig', global_config: { dtype: 'int8', mode: 'linear_symmetric' } });
    const compressed = rep.weights.filter((w: { status: string }) => w.status === 'compressed');
    expect(compressed.length).toBe(rep.totals.compressed);
    expect(compressed.length).toBeGreaterThan(0);
    for (const w of rep.weights) if (w.status === 'skipped') expect(w.reason).toBeTruthy();
    expect(rep.totals.weightBytesAfter).toBeLessThan(rep.totals.weightBytesBefore);
    const back = inspectJson(out);
    const quantized = back.weights.filter((w) => w.compression?.kind === 'quantized');
    expect(quantized).toHaveLength(compressed.length);
    expect(back.weights.reduce((s, w) => s + (w as unknown as { bytes: number }).bytes, 0)).toBe(rep.totals.weightBytesAfter);
  });

  it('an ONNX model is compressed to an .onnx that loads back with quantized weights', () => {
    const out = join(tmp, 'cifar.q8.onnx');
    const r = cli('compress', fixture('real/onnx/CIFAR10_ImageClassifier.onnx'), '-o', out, '--quantize', 'int8', '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    const back = inspectJson(out);
    const names = new Set(rep.weights.filter((w: { status: string }) => w.status === 'compressed').map((w: { id: string }) => w.id));
    expect(names.size).toBeGreaterThan(0);
    expect(back.weights.filter((w) => w.compression).length).toBe(names.size);
  });

  it('a NeuralNetwork .mlmodel is compressed to an .mlmodel with quantized layers', () => {
    const out = join(tmp, 'mnist.q8.mlmodel');
    const r = cli('compress', fixture('real/coreml/MNIST_CNN.mlmodel'), '-o', out, '--quantize', 'int8', '--quiet');
    expect(r.code).toBe(0);
    const back = inspectJson(out);
    expect(back.weights).toHaveLength(8);
    expect(back.weights.every((w) => w.dtype === 'linearQuantization')).toBe(true);
  });

  it('a --config YAML gives the same output structure as the equivalent flags', () => {
    const cfg = join(tmp, 'joint.yaml');
    writeFileSync(
      cfg,
      '- config_type: OpMagnitudePrunerConfig\n  global_config:\n    target_sparsity: 0.5\n- config_type: OpPalettizerConfig\n  global_config:\n    mode: kmeans\n    nbits: 4\n',
    );
    const a = join(tmp, 'viaconfig.mlpackage');
    const r = cli('compress', fixture('synthetic/base_ios18.mlpackage'), '-o', a, '--config', cfg, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const golden = readJson('golden/base_ios18/joint-prune50-pal4.json');
    const got = inspectJson(a);
    for (const gw of golden.weights) expect(got.weights.find((w) => w.name === gw.name)?.opType).toBe(gw.op_type);
  });

  it('the table lists every weight with its status and the totals', () => {
    const out = join(tmp, 'table.mlpackage');
    const r = cli('compress', fixture('synthetic/base_ios16.mlpackage'), '-o', out, '--palettize', '4');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/conv2_weight_to_fp16 +compressed +palettize kmeans 4-bit per_tensor/);
    expect(r.stdout).toMatch(/conv1_weight_to_fp16 +skipped +864 elements/);
    expect(r.stdout).toMatch(/Weights: 4 compressed, 6 skipped of 10/);
    expect(r.stdout).toContain(`Wrote ${out}`);
  });

  it('refusals: illegal option for the target → 2, nothing to compress → 1, and no output is left behind', () => {
    const before = readdirSync(tmp).length;
    const t = cli('compress', fixture('synthetic/base_ios16.mlpackage'), '-o', join(tmp, 'g.mlpackage'), '--palettize', '4', '--group-size', '16');
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/per_grouped_channel needs iOS18 \(deployment target is iOS16\)/);
    // the program's target is fixed: the advice is to re-convert, not to pass --target
    expect(t.stderr).toMatch(/re-convert it with minimum_deployment_target=ct\.target\.iOS18/);
    const nb = cli('compress', fixture('synthetic/base_ios16.mlpackage'), '-o', join(tmp, 'n.mlpackage'), '--palettize', '5');
    expect(nb.code).toBe(2);
    expect(nb.stderr).toMatch(/nbits must be one of 1, 2, 3, 4, 6, 8 \(got 5\)/);
    const tc = cli('compress', fixture('real/coreml/ProgrammingLanguageClassifier_textClassifier.mlmodel'), '-o', join(tmp, 't.mlmodel'), '--palettize', '4');
    expect(tc.code).toBe(1);
    expect(tc.stderr).toMatch(/textClassifier/);
    const bad = cli('compress', fixture('bad/truncweights.mlpackage'), '-o', join(tmp, 'b.mlpackage'), '--palettize', '4');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/weight\.bin truncated/);
    const wrongExt = cli('compress', fixture('synthetic/base_ios16.mlpackage'), '-o', join(tmp, 'w.onnx'), '--palettize', '4');
    expect(wrongExt.code).toBe(2);
    expect(readdirSync(tmp).length).toBe(before);
    expect(existsSync(join(tmp, 'g.mlpackage'))).toBe(false);
  });
});
