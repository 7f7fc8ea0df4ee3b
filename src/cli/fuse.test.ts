/**
 * `shrinkray compress` on a NeuralNetwork model quantized below 16 bits fuses conv + batchnorm first, as
 * coremltools' quantize_weights does: PoseEstimation_CPM.mlmodel (93 convolution + batchnorm pairs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../tests/fixtures';
import { compressNN } from '../core/compress/nn/index';
import { decompress } from '../core/compress/decompress';
import type { NNQuantizeConfig } from '../core/compress/types';
import { loadModel } from '../core/formats';
import { prepareForPlan } from '../core/formats/coreml/nn/prepare';
import { globalPlan, linearQuantizerConfig, magnitudePrunerConfig } from '../core/plan';
import { loadPath, treeForPath } from '../node/load';
import { compressCommand } from './compress';

const POSE = fixture('real', 'coreml', 'PoseEstimation_CPM.mlmodel');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-fuse-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('compress fuses NeuralNetwork conv + batchnorm before quantizing below 16 bits', () => {
  it('PoseEstimation_CPM: int8 linear → 93 batchnorms fused, biases on the convs, values = quantized fused weights', async () => {
    const outPath = join(tmp, 'pose.mlmodel');
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await compressCommand([POSE, '-o', outPath, '--quantize', 'int8', '--affine'], (s) => lines.push(s), (s) => errs.push(s));
    expect(errs).toEqual([]);
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/Fused: 93 layers were fused into the layer before them before quantizing, as coremltools' quantize_weights does \(93 convolution\+batchnorm\)/);

    const orig = await loadPath(POSE);
    const origBn = orig.weights.filter((w) => w.opType.startsWith('batchnorm.'));
    expect(origBn.length).toBe(93 * 4);
    const prep = await prepareForPlan(treeForPath(POSE), orig, globalPlan(linearQuantizerConfig({ mode: 'linear' })));
    const fused = prep.model;
    expect(fused).not.toBe(orig);
    expect(prep.fusions.length).toBe(93);
    const out = await loadPath(outPath);
    // batchnorm layers are gone; every conv that absorbed one has a bias
    expect(out.weights.filter((w) => w.opType.startsWith('batchnorm.')).length).toBe(0);
    expect(out.weights.map((w) => w.name)).toEqual(fused.weights.map((w) => w.name));
    const convW = out.weights.filter((w) => w.opType === 'convolution.weights');
    const convB = new Set(out.weights.filter((w) => w.opType === 'convolution.bias').map((w) => w.name.replace(/\.bias$/, '')));
    const origB = new Set(orig.weights.filter((w) => w.opType === 'convolution.bias').map((w) => w.name.replace(/\.bias$/, '')));
    const removed = new Set(prep.fusions.map((f) => f.removed));
    expect(out.weights.some((w) => removed.has(w.name.replace(/\.[^.]+$/, '')))).toBe(false);
    for (const f of prep.fusions) expect(convB.has(f.layer), f.layer).toBe(true);
    // the convs with a bias: those that had one, plus those that absorbed a batchnorm
    expect([...convB].sort()).toEqual([...new Set([...origB, ...prep.fusions.map((f) => f.layer)])].sort());
    expect(convW.length).toBe(orig.weights.filter((w) => w.opType === 'convolution.weights').length);

    // every weight the output stores quantized decodes to the NN 8-bit linear quantization of the fused float
    // weight, exactly, and stays within half a quantization step of it
    const cfg: NNQuantizeConfig = { type: 'NNQuantizeConfig', nbits: 8, quantization_mode: 'linear' };
    let checked = 0;
    for (const w of out.weights) {
      const f = fused.weights.find((x) => x.name === w.name)!;
      const ref = await fused.readFloat32(f.id);
      const got = await out.readFloat32(w.id);
      if (!w.compression) {
        expect(Array.from(got), w.name).toEqual(Array.from(ref));
        continue;
      }
      expect(w.compression.kind).toBe('linear');
      const expected = decompress(compressNN(await fused.readDense(f.id), f, cfg));
      expect(got, w.name).toEqual(expected);
      // per-channel bound: (max - min) / 255 / 2 along the NN channel axis
      const axis = f.nn?.axis ?? 0;
      const C = f.shape.length ? f.shape[axis] : 1;
      const inner = f.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const lo = new Float64Array(C).fill(Infinity);
      const hi = new Float64Array(C).fill(-Infinity);
      const ch = (i: number) => (f.shape.length > 1 ? Math.floor(i / inner) % C : 0);
      for (let i = 0; i < ref.length; i++) {
        lo[ch(i)] = Math.min(lo[ch(i)], ref[i]);
        hi[ch(i)] = Math.max(hi[ch(i)], ref[i]);
      }
      for (let i = 0; i < ref.length; i++) {
        const c = ch(i);
        expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual(((hi[c] - lo[c]) / 255) * 0.5 * (1 + 1e-5) + 1e-7);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(90);
  }, 300_000);

  it('prepareForPlan leaves the model alone when nothing is quantized below 16 bits or the model is an ML program', async () => {
    const tree = treeForPath(POSE);
    const m = await loadModel(tree);
    const prune = await prepareForPlan(tree, m, globalPlan(magnitudePrunerConfig({ target_sparsity: 0.5 })));
    expect(prune.model).toBe(m);
    expect(prune.fusions).toEqual([]);
    const pkg = treeForPath(fixture('synthetic', 'base_ios18.mlpackage'));
    const ml = await loadModel(pkg);
    const r = await prepareForPlan(pkg, ml, globalPlan(linearQuantizerConfig()));
    expect(r.model).toBe(ml);
    expect(r.note).toBeUndefined();
  });
});
