/** `shrinkray compress --target`: an ML program's deployment target is fixed (coremltools cannot raise it). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, REPO } from '../../tests/fixtures';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const REASON =
  "This ML program targets iOS16 (specificationVersion 7). coremltools cannot raise an existing program's deployment target: re-convert it with minimum_deployment_target=ct.target.iOS18 to use iOS18-only options.";

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'shrinkray-target-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('compress --target against the model target', () => {
  it('--target iOS18 on a spec-7 ML program exits 2 with the model message and writes nothing', () => {
    const r = cli('compress', fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage'), '-o', join(tmp, 'a.mlpackage'), '--palettize', '4', '--target', 'iOS18');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--target iOS18: ${REASON}`);
    expect(r.stderr).not.toMatch(/raise the deployment target with --target/);
    expect(readdirSync(tmp)).toEqual([]);
  });
  it('a config file asking for iOS18 on base_ios16 is refused the same way', () => {
    const cfg = join(tmp, 'c.json');
    writeFileSync(cfg, JSON.stringify({ target: 'iOS18', steps: [{ config_type: 'OpPalettizerConfig', global_config: { mode: 'kmeans', nbits: 4 } }] }));
    const r = cli('compress', fixture('synthetic/base_ios16.mlpackage'), '-o', join(tmp, 'c.mlpackage'), '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(REASON);
    expect(existsSync(join(tmp, 'c.mlpackage'))).toBe(false);
    rmSync(cfg);
  });
  it('--target iOS16 on a spec-9 program is refused; the default is the model target; --target equal to it runs', () => {
    const low = cli('compress', fixture('synthetic/base_ios18.mlpackage'), '-o', join(tmp, 'l.mlpackage'), '--palettize', '4', '--target', 'iOS16');
    expect(low.code).toBe(2);
    expect(low.stderr).toMatch(/targets iOS18 \(specificationVersion 9\)/);
    const def = cli('compress', fixture('synthetic/base_ios18.mlpackage'), '-o', join(tmp, 'd.mlpackage'), '--palettize', '4', '--json');
    expect(def.code).toBe(0);
    expect(JSON.parse(def.stdout).target).toBe('iOS18');
    const same = cli('compress', fixture('synthetic/base_ios16.mlpackage'), '-o', join(tmp, 's.mlpackage'), '--palettize', '4', '--target', 'ios16', '--json');
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout).target).toBe('iOS16');
  });
  it('ONNX and NeuralNetwork models take any --target', () => {
    const onnx = cli('compress', fixture('real/onnx/CIFAR10_ImageClassifier.onnx'), '-o', join(tmp, 'o.onnx'), '--palettize', '4', '--target', 'iOS16', '--json');
    expect(onnx.code).toBe(0);
    expect(JSON.parse(onnx.stdout).target).toBe('iOS16');
    const nn = cli('compress', fixture('synthetic/base_nn.mlmodel'), '-o', join(tmp, 'n.mlmodel'), '--palettize', '4', '--target', 'iOS18', '--json');
    expect(nn.code).toBe(0);
  });
});
