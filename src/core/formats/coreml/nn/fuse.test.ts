import { describe, expect, it } from 'vitest';
import { loadNN, str, wpFloats, innerProduct } from '../../../../../tests/nn/helpers';
import { fuseNeuralNetwork, fuseModel } from './fuse';
import { fuseTree } from './fuse-tree';
import { pathTree } from '../../../../node/fs-tree';
import { fixture } from '../../../../../tests/fixtures';
import { readNeuralNetwork } from './read';
import { readFields, encodeLenField, encodeVarintField, concatBytes } from '../../../proto/wire';
import { nnType } from './schema';
import { rewriteNeuralNetwork } from './write';
import { compressNN } from '../../../compress/nn';
import type { WeightResult } from '../../../compress/types';
import { loadModel } from '../../index';
import { memoryTree } from '../../../io/source';

const dec = new TextDecoder();

function layerInfo(nn: Uint8Array): { name: string; outputs: string[]; type: number; bytes: Uint8Array }[] {
  return readFields(nn)
    .filter((f) => f.no === 1)
    .map((f) => {
      const b = nn.subarray(f.dataStart, f.dataEnd);
      const fs = readFields(b);
      return {
        name: dec.decode(b.subarray(fs.find((x) => x.no === 1)!.dataStart, fs.find((x) => x.no === 1)!.dataEnd)),
        outputs: fs.filter((x) => x.no === 3).map((x) => dec.decode(b.subarray(x.dataStart, x.dataEnd))),
        type: fs.find((x) => x.no >= 100)?.no ?? 0,
        bytes: b,
      };
    });
}

describe('fuseNeuralNetwork (coremltools _optimize_nn)', () => {
  it('PoseEstimation: fuses its 93 convolution + batchnorm pairs with the batchnorm arithmetic', () => {
    const { nn } = loadNN('real', 'coreml', 'PoseEstimation_CPM.mlmodel');
    const { bytes, fusions } = fuseNeuralNetwork(nn, 'PoseEstimation_CPM.mlmodel');
    expect(fusions.length).toBe(93);
    expect(fusions.every((f) => f.kind === 'convolution+batchnorm')).toBe(true);
    const before = layerInfo(nn);
    const after = layerInfo(bytes);
    expect(after.length).toBe(before.length - 93);
    expect(after.some((l) => l.type === 160)).toBe(false);
    const src = readNeuralNetwork(nn, 'a', 'pose');
    const out = readNeuralNetwork(bytes, 'b', 'pose-fused');
    const val = (r: typeof src, id: string) => r.readFloat32(id);
    for (const f of fusions) {
      const bnLayer = before.find((l) => l.name === f.removed)!;
      const bnParams = readFields(bnLayer.bytes).find((x) => x.no === 160)!;
      const pb = bnLayer.bytes.subarray(bnParams.dataStart, bnParams.dataEnd);
      const keep = readFields(pb).filter((x) => ![15, 16, 17, 18].includes(x.no));
      const eps = Number((nnType('BatchnormLayerParams').decode(concatBytes(keep.map((x) => pb.subarray(x.start, x.end)))) as any).epsilon) || 1e-5;
      const gamma = val(src, `a/${f.removed}.gamma`);
      const beta = val(src, `a/${f.removed}.beta`);
      const mean = val(src, `a/${f.removed}.mean`);
      const variance = val(src, `a/${f.removed}.variance`);
      const w = val(src, `a/${f.layer}.weights`);
      const hadBias = src.weights.some((x) => x.id === `a/${f.layer}.bias`);
      const b = hadBias ? val(src, `a/${f.layer}.bias`) : new Float32Array(gamma.length);
      const nw = val(out, `b/${f.layer}.weights`);
      const nb = val(out, `b/${f.layer}.bias`);
      const C = gamma.length;
      const L = w.length / C;
      let bad = 0;
      for (let c = 0; c < C; c++) {
        const s = Math.sqrt(variance[c] + eps);
        for (let i = 0; i < L; i++) if (nw[c * L + i] !== Math.fround((gamma[c] / s) * w[c * L + i])) bad++;
        if (nb[c] !== Math.fround((gamma[c] * b[c]) / s - (gamma[c] * mean[c]) / s + beta[c])) bad++;
      }
      expect(bad, f.layer).toBe(0);
      expect(nw.length).toBe(w.length);
      // the conv now produces what the batchnorm produced
      expect(after.find((l) => l.name === f.layer)!.outputs).toEqual(bnLayer.outputs);
    }
  });

  it('leaves networks without fusable pairs as they are (same bytes)', () => {
    for (const p of [['synthetic', 'base_nn.mlmodel'], ['real', 'coreml', 'Exermote_ActivityLSTM.mlmodel']]) {
      const { nn } = loadNN(...p);
      const r = fuseNeuralNetwork(nn, p[p.length - 1]);
      expect(r.fusions).toEqual([]);
      expect(r.bytes).toBe(nn);
    }
  });

  const layer = (name: string, ins: string[], outs: string[], no: number, params: Uint8Array) =>
    encodeLenField(1, concatBytes([str(1, name), ...ins.map((i) => str(2, i)), ...outs.map((o) => str(3, o)), encodeLenField(no, params)]));

  it('innerProduct + scale (with bias) and innerProduct + bias layer, rewiring outputs; unknown fields kept', () => {
    const ip1 = innerProduct('ip1', 2, 2, [1, 2, 3, 4], [10, 20]).subarray(0); // x -> y
    const scale = layer('sc', ['y'], ['z'], 245, concatBytes([
      encodeVarintField(1, 2),
      encodeLenField(2, wpFloats(2, 3)),
      encodeVarintField(3, 1),
      encodeVarintField(4, 2),
      encodeLenField(5, wpFloats(0.5, -1)),
    ]));
    // second innerProduct reads z, then a bias layer
    const ip2params = concatBytes([encodeVarintField(1, 2), encodeVarintField(2, 2), encodeLenField(20, wpFloats(1, 0, 0, 1))]);
    const ip2 = layer('ip2', ['z'], ['u'], 140, ip2params);
    const bias = layer('bi', ['u'], ['v'], 250, concatBytes([encodeVarintField(1, 1), encodeLenField(2, wpFloats(7))]));
    const extra = encodeLenField(9999, Uint8Array.of(1, 2, 3));
    const nn = concatBytes([ip1, scale, ip2, bias, extra]);
    const { bytes, fusions } = fuseNeuralNetwork(nn, 'hand');
    expect(fusions.map((f) => `${f.layer}<${f.removed}:${f.kind}`)).toEqual(['ip1<sc:innerProduct+scale', 'ip2<bi:innerProduct+bias']);
    const ls = layerInfo(bytes);
    expect(ls.map((l) => [l.name, l.outputs])).toEqual([
      ['ip1', ['z']],
      ['ip2', ['v']],
    ]);
    const r = readNeuralNetwork(bytes, 'n', 'hand');
    expect(Array.from(r.readFloat32('n/ip1.weights'))).toEqual([2, 4, 9, 12]);
    expect(Array.from(r.readFloat32('n/ip1.bias'))).toEqual([20.5, 59]);
    expect(Array.from(r.readFloat32('n/ip2.bias'))).toEqual([7, 7]); // length-1 bias broadcast to the 2 outputs
    expect(r.weights.find((w) => w.id === 'n/ip2.bias')!.nn?.quantizable).toBe(true); // hasBias was set
    expect(Buffer.from(bytes.subarray(bytes.length - extra.length)).equals(Buffer.from(extra))).toBe(true);
  });

  it('batchnorm + scale; no fusion when the producer feeds two layers', () => {
    const bn = layer('bn', ['x'], ['y'], 160, concatBytes([
      encodeVarintField(1, 2),
      encodeLenField(15, wpFloats(1, 2)),
      encodeLenField(16, wpFloats(0, 1)),
      encodeLenField(17, wpFloats(0, 0)),
      encodeLenField(18, wpFloats(1, 1)),
    ]));
    const sc = layer('sc', ['y'], ['z'], 245, concatBytes([encodeVarintField(1, 1), encodeLenField(2, wpFloats(3))]));
    const r1 = fuseNeuralNetwork(concatBytes([bn, sc]), 'bn');
    expect(r1.fusions.map((f) => f.kind)).toEqual(['batchnorm+scale']);
    const w = readNeuralNetwork(r1.bytes, 'n', 'bn');
    expect(Array.from(w.readFloat32('n/bn.gamma'))).toEqual([3, 6]);
    expect(Array.from(w.readFloat32('n/bn.beta'))).toEqual([0, 3]);
    // a second reader of y blocks the fusion
    const other = layer('other', ['y'], ['w'], 245, concatBytes([encodeVarintField(1, 1), encodeLenField(2, wpFloats(1))]));
    const nn2 = concatBytes([bn, sc, other]);
    const r2 = fuseNeuralNetwork(nn2, 'bn2');
    expect(r2.fusions).toEqual([]);
    expect(r2.bytes).toBe(nn2);
  });
});

describe('fuseModel', () => {
  it('fuses the network of a whole .mlmodel and inside a pipeline, keeping every other field', async () => {
    const { model, start, end, no } = loadNN('real', 'coreml', 'PoseEstimation_CPM.mlmodel');
    const direct = fuseModel(model, 'pose');
    expect(direct.fusions.length).toBe(93);
    const fusedNN = fuseNeuralNetwork(model.subarray(start, end), 'pose').bytes;
    const top = readFields(direct.bytes);
    const nnf = top.find((f) => f.no === no)!;
    expect(Buffer.from(direct.bytes.subarray(nnf.dataStart, nnf.dataEnd)).equals(Buffer.from(fusedNN))).toBe(true);
    const others = (b: Uint8Array) => readFields(b).filter((f) => f.no !== no).map((f) => Buffer.from(b.subarray(f.start, f.end)).toString('hex'));
    expect(others(direct.bytes)).toEqual(others(model));
    // the same model inside a pipeline (Model.pipeline = 202, Pipeline.models = 1, names = 2)
    const pipeline = concatBytes([
      encodeVarintField(1, 4),
      encodeLenField(202, concatBytes([encodeLenField(1, model), str(2, 'pose')])),
    ]);
    const viaPipe = fuseModel(pipeline, 'pipe');
    expect(viaPipe.fusions.length).toBe(93);
    const pf = readFields(viaPipe.bytes).find((f) => f.no === 202)!;
    const inner = readFields(viaPipe.bytes.subarray(pf.dataStart, pf.dataEnd));
    expect(inner.map((f) => f.no)).toEqual([1, 2]);
    // the fused file loads through the Core ML reader with the batchnorms gone and a bias per fused conv
    const loaded = await loadModel(memoryTree('pose-fused.mlmodel', { 'pose-fused.mlmodel': direct.bytes }));
    expect(loaded.weights.length).toBe(145 + 93);
    expect(loaded.weights.filter((w) => w.opType === 'convolution.bias').length).toBe(93);
    // a model with nothing to fuse comes back as the same bytes
    const base = loadNN('synthetic', 'base_nn.mlmodel').model;
    expect(fuseModel(base, 'base').bytes).toBe(base);
  });
});

describe('fuseTree', () => {
  it('replaces the model file of a tree with its fused form, other trees pass through', async () => {
    const pose = pathTree(fixture('real', 'coreml', 'PoseEstimation_CPM.mlmodel'));
    const r = await fuseTree(pose);
    expect(r.fusions.length).toBe(93);
    expect(r.tree).not.toBe(pose);
    const m = await loadModel(r.tree);
    expect(m.weights.length).toBe(145 + 93);
    const base = pathTree(fixture('synthetic', 'base_nn.mlmodel'));
    expect((await fuseTree(base)).tree).toBe(base);
    const pkg = pathTree(fixture('synthetic', 'base_ios16.mlpackage'));
    expect((await fuseTree(pkg)).tree).toBe(pkg);
  });
});

describe('fusion then quantization (what quantize_weights does for nbits < 16)', () => {
  it('PoseEstimation: fused, 8-bit linear, rewritten, read back: every weight within half a step of the fused value', () => {
    const { nn } = loadNN('real', 'coreml', 'PoseEstimation_CPM.mlmodel');
    const fused = fuseNeuralNetwork(nn, 'pose').bytes;
    const r = readNeuralNetwork(fused, 'p', 'pose');
    const results = new Map<string, WeightResult>();
    for (const w of r.weights) {
      const repr = compressNN(r.readDense(w.id), w, { type: 'NNQuantizeConfig', nbits: 8, quantization_mode: 'linear' });
      results.set(w.id, { id: w.id, status: 'compressed', repr, label: '', bytesBefore: 0, bytesAfter: 0, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 0 });
    }
    const out = rewriteNeuralNetwork(fused, 'p', results);
    expect(out.minSpec).toBe(3);
    const back = readNeuralNetwork(out.bytes, 'p', 'pose-q8');
    expect(back.weights.length).toBe(145 + 93);
    for (const w of back.weights) {
      expect(w.dtype).toBe('linearQuantization');
      const a = r.readFloat32(w.id);
      const b = back.readFloat32(w.id);
      const repr = results.get(w.id)!.repr!;
      if (repr.kind !== 'nnlinear') throw new Error(repr.kind);
      const maxStep = Math.max(...Array.from(repr.scale));
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst, w.name).toBeLessThanOrEqual(maxStep / 2 + 1e-6 * (1 + maxStep * 255));
    }
  });
});
