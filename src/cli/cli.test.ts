/** The CLI as a user runs it: a child process (`node --import tsx src/cli/main.ts ...`) on the fixtures. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fixture, readJson, REPO } from '../../tests/fixtures';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shrinkray --help and usage errors', () => {
  it('prints help for the tool and each command, exit 0', () => {
    const main = cli('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/inspect MODEL/);
    expect(main.stdout).toMatch(/compress MODEL -o OUT/);
    const ins = cli('inspect', '--help');
    expect(ins.code).toBe(0);
    expect(ins.stdout).toMatch(/--stats/);
    const comp = cli('compress', '--help');
    expect(comp.code).toBe(0);
    for (const opt of ['--palettize', '--group-size', '--quantize', '--per-block', '--prune', '--nm', '--config', '--target']) {
      expect(comp.stdout).toContain(opt);
    }
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /Usage: shrinkray/],
    [['inspect'], /missing MODEL/],
    [['inspect', 'a', 'b'], /expected one MODEL/],
    [['inspect', 'x.onnx', '--colour'], /unknown option --colour/],
    [['compress', 'x.onnx'], /missing -o OUT/],
    [['compress', 'x.onnx', '-o', 'y.onnx'], /nothing to do/],
    [['compress', 'x.onnx', '-o', 'y.onnx', '--palettize', 'four'], /--palettize expects a number/],
    [['compress', 'x.onnx', '-o', 'y.onnx', '--quantize', 'int3'], /--quantize must be one of/],
    [['compress', 'x.onnx', '-o', 'y.onnx', '--quantize', 'int8', '--target', 'iOS15'], /--target must be one of iOS16, iOS17, iOS18/],
    [['compress', 'x.onnx', '-o', 'x.onnx', '--prune', '0.5'], /is the input itself/],
  ])('%j → exit 2 with the usage', (args, msg) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).toMatch(/Usage: shrinkray/);
    expect(r.stdout).toBe('');
  });
});

// Inputs whose inspection coremltools recorded (golden/<model>/base.json, `path` relative to the fixtures).
const GOLDEN = ['base_ios16', 'base_ios18', 'base_nn', 'MNIST_CNN', 'DTLN_AEC_128_Part1_fp32', 'DTLN_AEC_128_Part2_fp16'];

describe('shrinkray inspect on the fixtures', () => {
  it.each(GOLDEN)('%s: --json lists base.json weight_count weights with their names', (model) => {
    const base = readJson(`golden/${model}/base.json`);
    const r = cli('inspect', fixture(base.path), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.summary.weightCount).toBe(base.weight_count);
    expect(j.weights).toHaveLength(base.weight_count);
    expect(j.weights.map((w: { name: string }) => w.name).sort()).toEqual(base.weights.map((w: { name: string }) => w.name).sort());
  });

  it('the table shows the summary and one row per weight', () => {
    const base = readJson('golden/base_ios16/base.json');
    const r = cli('inspect', fixture(base.path));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Weights: +${base.weight_count} `));
    for (const w of base.weights) expect(r.stdout).toContain(w.name);
    expect(r.stdout).toMatch(/name +op type +shape +dtype +bytes +compression/);
  });

  it('--stats adds min/max/mean/std/sparsity/unique equal to the reference statistics', () => {
    const base = readJson('golden/base_ios16/base.json');
    const r = cli('inspect', fixture(base.path), '--json', '--stats');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const ref of base.weights) {
      const w = j.weights.find((x: { name: string }) => x.name === ref.name);
      expect(w.stats.min).toBe(ref.values.min);
      expect(w.stats.max).toBe(ref.values.max);
      expect(w.stats.mean).toBeCloseTo(ref.values.mean, 6);
      expect(w.stats.std).toBeCloseTo(ref.values.std, 6);
      expect(w.stats.unique).toBe(ref.values.unique_count);
      expect(w.stats.sparsity).toBe(ref.values.zero_count / ref.values.count);
    }
  });

  it('an .mlpackage.zip inspects exactly like its folder', () => {
    const a = JSON.parse(cli('inspect', fixture('real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage'), '--json').stdout);
    const b = JSON.parse(cli('inspect', fixture('real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage.zip'), '--json').stdout);
    expect(b.weights).toEqual(a.weights);
    expect(b.summary.weightCount).toBe(a.summary.weightCount);
  });

  it.each(readdirSync(fixture('real/onnx')).filter((f) => f.endsWith('.onnx')))('ONNX fixture %s inspects', (name) => {
    const r = cli('inspect', fixture('real/onnx', name), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.summary.format).toBe('onnx');
    expect(j.weights.length).toBeGreaterThan(0);
    expect(j.weights.length).toBe(j.summary.weightCount);
  });
});

describe('bad input → exit 1 and the specific message', () => {
  it.each([
    ['empty.mlmodel', /empty\.mlmodel is empty \(0 bytes\)/],
    ['garbage.mlmodel', /garbage\.mlmodel.*protobuf decode failed/],
    ['random.mlmodel', /random\.mlmodel.*protobuf decode failed/],
    ['badmanifest.mlpackage', /Manifest\.json is not valid JSON/],
    ['nomanifest.mlpackage', /not an \.mlpackage: Manifest\.json missing/],
    ['noweights.mlpackage', /weights\/weight\.bin not found/],
    ['truncweights.mlpackage', /weight\.bin truncated/],
    ['corrupthdr.mlpackage', /bad blob header at offset 64/],
  ])('%s', (name, msg) => {
    const r = cli('inspect', fixture('bad', name));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/internal error|    at /);
    expect(r.stdout).toBe('');
  });

  it('a missing path', () => {
    const r = cli('inspect', fixture('bad', 'does-not-exist.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does-not-exist\.onnx: no such file or folder/);
  });
});
