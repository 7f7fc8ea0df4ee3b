/** Pipelines, multiple functions and NeuralNetwork sub-models: read and written with everything else kept. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../../tests/fixtures';
import type { WeightResult } from '../../compress/types';
import { memoryTree } from '../../io/source';
import { pathTree } from '../../../node/fs-tree';
import { concatBytes, encodeLenField, encodeVarintField, readFields } from '../../proto/wire';
import { roundF16 } from '../../tensor/fp16';
import { buildMLProgram } from './build';
import { sha256f32 } from '../../../../tests/coreml/golden';
import { loadPath, loadTree, reload, writtenTree } from '../../../../tests/coreml/util';
import { writeCoreML } from './write';

const MODEL = 'Data/com.apple.CoreML/model.mlmodel';
const read = (...p: string[]) => new Uint8Array(readFileSync(fixture(...p)));

function result(id: string, repr: WeightResult['repr']): WeightResult {
  return { id, status: 'compressed', repr, label: 'test', bytesBefore: 0, bytesAfter: 0, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 0 };
}

/** base_ios16's package with its model.mlmodel replaced. */
function packageWith(model: Uint8Array, name: string) {
  const t = pathTree(fixture('synthetic/base_ios16.mlpackage'));
  const files: Record<string, Uint8Array> = {};
  for (const p of t.paths()) files[p] = read('synthetic/base_ios16.mlpackage', p);
  files[MODEL] = model;
  return memoryTree(name, files);
}

function field(bytes: Uint8Array, no: number): Uint8Array {
  const f = readFields(bytes).find((x) => x.no === no)!;
  return bytes.subarray(f.dataStart, f.dataEnd);
}

describe('pipelines', () => {
  // pipeline(202) { models: [ML program (base_ios16), NeuralNetwork (base_nn)], names: [prog, nn] }, description kept
  const prog = read('synthetic/base_ios16.mlpackage', MODEL);
  const nn = read('synthetic/base_nn.mlmodel');
  const description = field(prog, 2);
  const pipeline = concatBytes([
    encodeLenField(1, prog),
    encodeLenField(1, nn),
    encodeLenField(2, new TextEncoder().encode('prog')),
    encodeLenField(2, new TextEncoder().encode('nn')),
  ]);
  const model = concatBytes([encodeVarintField(1, 4), encodeLenField(2, description), encodeLenField(202, pipeline)]);

  it('reads every sub-model with scoped ids', async () => {
    const m = await loadTree(packageWith(model, 'Pipe.mlpackage'));
    expect(m.summary.modelType).toBe('pipeline');
    expect(m.weights.length).toBe(20);
    expect(m.weights.filter((w) => w.id.startsWith('prog/main/')).length).toBe(10);
    expect(m.weights.filter((w) => w.id.startsWith('nn/')).length).toBe(10);
    const direct = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    for (const w of direct.weights) {
      expect(sha256f32(await m.readFloat32(`prog/${w.id}`))).toBe(sha256f32(await direct.readFloat32(w.id)));
    }
  });

  it('writes both kinds of sub-model, raises the pipeline spec to what they need and keeps the rest', async () => {
    const m = await loadTree(packageWith(model, 'Pipe.mlpackage'));
    const pal = await loadPath(fixture('golden/base_ios16/pal-kmeans-4-tensor.mlpackage'));
    const palW = pal.weights.find((w) => w.baseName === 'linear1_weight_to_fp16')!;
    const nnq = await loadPath(fixture('golden/base_nn/nn-linear-8.mlmodel'));
    const nnW = nnq.weights.find((w) => w.opType === 'innerProduct.weights')!;
    const nnBase = m.weights.find((w) => w.id === `nn/${nnW.id}`)!;
    const results = new Map([
      ['prog/main/linear1_weight_to_fp16', result('prog/main/linear1_weight_to_fp16', await pal.readRepr(palW.id))],
      [nnBase.id, result(nnBase.id, await nnq.readRepr(nnW.id))],
    ]);
    const out = await writeCoreML(m, results, { plan: { target: 'iOS16', steps: [] }, tag: 'mixed' });
    expect(out.name).toBe('Pipe.mixed.mlpackage');
    const b = await reload(out);
    expect(b.summary.modelType).toBe('pipeline');
    // the ML program sub-model needs spec 7 for constexpr_lut_to_dense; the outer spec follows it
    expect(b.summary.specificationVersion).toBe(7);
    const pw = b.weights.find((w) => w.baseName === 'linear1_weight_to_fp16')!;
    expect(pw.id).toBe('prog/main/linear1_weight_to_fp16_palettized');
    expect(sha256f32(await b.readFloat32(pw.id))).toBe(sha256f32(await pal.readFloat32(palW.id)));
    expect(sha256f32(await b.readFloat32(nnBase.id))).toBe(sha256f32(await nnq.readFloat32(nnW.id)));
    // untouched weights keep their values; the description bytes are unchanged
    for (const w of m.weights.filter((x) => !results.has(x.id))) {
      expect(sha256f32(await b.readFloat32(w.id))).toBe(sha256f32(await m.readFloat32(w.id)));
    }
    const t = await writtenTree(out);
    const outModel = await t.get(MODEL)!.read(0, t.get(MODEL)!.size);
    expect(Buffer.from(field(outModel, 2)).equals(Buffer.from(description))).toBe(true);
  });
});

describe('nested pipelines', () => {
  it('pipelineClassifier { pipeline { pipeline { ML program } } }: ids name the path, writes recurse', async () => {
    const prog = read('synthetic/base_ios16.mlpackage', MODEL);
    const inner = concatBytes([encodeVarintField(1, 7), encodeLenField(202, concatBytes([encodeLenField(1, prog), encodeLenField(2, new TextEncoder().encode('deep'))]))]);
    const pipe = concatBytes([encodeLenField(1, inner), encodeLenField(2, new TextEncoder().encode('mid'))]);
    const model = concatBytes([encodeVarintField(1, 6), encodeLenField(200, encodeLenField(1, pipe))]);
    const m = await loadTree(packageWith(model, 'Nested.mlpackage'));
    expect(m.summary.modelType).toBe('pipelineClassifier');
    expect(m.summary.specificationVersion).toBe(6);
    expect(m.weights.map((w) => w.id)).toContain('mid/deep/main/linear2_weight_to_fp16');
    const gold = await loadPath(fixture('golden/base_ios16/prune-mag-50.mlpackage'));
    const g = gold.weights.find((w) => w.baseName === 'linear2_weight_to_fp16')!;
    const id = 'mid/deep/main/linear2_weight_to_fp16';
    const out = await reload(await writeCoreML(m, new Map([[id, result(id, await gold.readRepr(g.id))]]), { plan: { target: 'iOS16', steps: [] } }));
    expect(out.summary.modelType).toBe('pipelineClassifier');
    // the outer specs rise to the sub-model's 7
    expect(out.summary.specificationVersion).toBe(7);
    const w = out.weights.find((x) => x.id === 'mid/deep/main/linear2_weight_to_fp16_sparsified')!;
    expect(w.opType).toBe('constexpr_sparse_to_dense');
    expect(sha256f32(await out.readFloat32(w.id))).toBe(sha256f32(await gold.readFloat32(g.id)));
  });
});

describe('multiple functions', () => {
  // base_ios16's program with its `main` function duplicated as `second` (both reference the same blobs)
  const model = read('synthetic/base_ios16.mlpackage', MODEL);
  const prog = field(model, 502);
  const mainEntry = readFields(prog).find((f) => f.no === 2)!;
  const fn = field(prog.subarray(mainEntry.dataStart, mainEntry.dataEnd), 2);
  const second = encodeLenField(2, concatBytes([encodeLenField(1, new TextEncoder().encode('second')), encodeLenField(2, fn)]));
  const prog2 = concatBytes([prog, second]);
  const model2 = concatBytes([encodeVarintField(1, 7), encodeLenField(2, field(model, 2)), encodeLenField(502, prog2)]);

  it('reads both functions and compresses one, leaving the other as it was', async () => {
    const m = await loadTree(packageWith(model2, 'Multi.mlpackage'));
    expect(m.summary.functions).toEqual(['main', 'second']);
    expect(m.weights.length).toBe(20);
    const gold = await loadPath(fixture('golden/base_ios16/q-int8-sym-channel.mlpackage'));
    const g = gold.weights.find((w) => w.baseName === 'conv2_weight_to_fp16')!;
    const out = await writeCoreML(m, new Map([['main/conv2_weight_to_fp16', result('main/conv2_weight_to_fp16', await gold.readRepr(g.id))]]), {
      plan: { target: 'iOS16', steps: [] },
    });
    const b = await reload(out);
    expect(b.summary.functions).toEqual(['main', 'second']);
    expect(b.weights.find((w) => w.id === 'main/conv2_weight_to_fp16_quantized')?.opType).toBe('constexpr_affine_dequantize');
    expect(b.weights.find((w) => w.id === 'second/conv2_weight_to_fp16')?.opType).toBe('const');
    expect(sha256f32(await b.readFloat32('main/conv2_weight_to_fp16_quantized'))).toBe(sha256f32(await gold.readFloat32(g.id)));
    for (const w of m.weights.filter((x) => x.id.startsWith('second/'))) {
      expect(sha256f32(await b.readFloat32(w.id))).toBe(sha256f32(await m.readFloat32(w.id)));
    }
    // shared blobs are copied once: the new weight.bin holds 10 original blobs + the new op's blobs
    const t = await writtenTree(out);
    const wb = t.get('Data/com.apple.CoreML/weights/weight.bin')!;
    const head = await wb.read(0, 8);
    expect(new DataView(head.buffer, head.byteOffset).getUint32(0, true)).toBeLessThanOrEqual(10 + 3);
  });
});

describe('NeuralNetwork .mlmodel through the writer', () => {
  it('writes D\'s rewrite into a .mlmodel named after the input and raises the spec', async () => {
    const base = await loadPath(fixture('real/coreml/MNIST_CNN.mlmodel'));
    const gold = await loadPath(fixture('golden/MNIST_CNN/nn-linear-8.mlmodel'));
    const results = new Map<string, WeightResult>();
    for (const w of gold.weights) results.set(w.id, result(w.id, await gold.readRepr(w.id)));
    const out = await writeCoreML(base, results, { plan: { target: 'iOS16', steps: [] }, tag: 'q8' });
    expect(out.name).toBe('MNIST_CNN.q8.mlmodel');
    expect(out.format).toBe('mlmodel');
    const b = await reload(out);
    expect(b.summary.specificationVersion).toBe(gold.summary.specificationVersion);
    for (const w of gold.weights) expect(sha256f32(await b.readFloat32(w.id))).toBe(sha256f32(await gold.readFloat32(w.id)));
  });
});

describe('buildMLProgram', () => {
  it('builds a chain-of-layers package that loads with the exact fp16 weights', async () => {
    const w1 = new Float32Array(16 * 3 * 3 * 3).map((_, i) => Math.sin(i) * 0.1);
    const w2 = new Float32Array(10 * 16).map((_, i) => Math.cos(i) * 0.1);
    const b1 = new Float32Array(16).map((_, i) => i / 100);
    for (const target of ['iOS16', 'iOS18'] as const) {
      const built = buildMLProgram({
        target,
        name: 'Tiny',
        layers: [
          { name: 'conv1', op: 'conv', weight: { dtype: 'fp32', shape: [16, 3, 3, 3], data: w1 }, bias: { dtype: 'fp32', shape: [16], data: b1 } },
          { name: 'linear1', op: 'linear', weight: { dtype: 'fp32', shape: [10, 16], data: w2 } },
        ],
      });
      expect(built.name).toBe('Tiny.mlpackage');
      const m = await reload(built);
      expect(m.summary.specificationVersion).toBe(target === 'iOS18' ? 9 : 7);
      expect(m.summary.opsets).toEqual([target === 'iOS18' ? 'CoreML8' : 'CoreML6']);
      expect(m.weights.map((w) => w.name)).toEqual(['conv1_weight_to_fp16', 'conv1_bias_to_fp16', 'linear1_weight_to_fp16']);
      // each value rounded to fp16 (round half to even), exactly
      expect(Array.from(await m.readFloat32('main/conv1_weight_to_fp16'))).toEqual(Array.from(w1, roundF16));
      expect(Array.from(await m.readFloat32('main/linear1_weight_to_fp16'))).toEqual(Array.from(w2, roundF16));
      expect(m.weights[0].consumers).toEqual([{ name: 'conv1_cast_fp16', type: 'conv', param: 'weight', attrs: { groups: 1 } }]);
      expect(m.weights[2].consumers).toEqual([{ name: 'linear1_cast_fp16', type: 'linear', param: 'weight' }]);
    }
  });
});

describe('package contents around the model', () => {
  it('keeps extra package files and adds a weights item to a manifest that lacks one', async () => {
    const t = pathTree(fixture('synthetic/base_ios16.mlpackage'));
    const files: Record<string, Uint8Array> = {};
    for (const p of t.paths()) files[p] = read('synthetic/base_ios16.mlpackage', p);
    const m = JSON.parse(new TextDecoder().decode(files['Manifest.json']));
    for (const [k, e] of Object.entries<{ path: string }>(m.itemInfoEntries)) if (e.path.endsWith('/weights')) delete m.itemInfoEntries[k];
    files['Manifest.json'] = new TextEncoder().encode(JSON.stringify(m));
    files['Data/com.apple.CoreML/FeatureDescriptions.json'] = new TextEncoder().encode('{"x":"input"}');
    const base = await loadTree(memoryTree('Extra.mlpackage', files));
    const out = await writeCoreML(base, new Map(), { plan: { target: 'iOS16', steps: [] } });
    const ot = await writtenTree(out);
    const extra = ot.get('Data/com.apple.CoreML/FeatureDescriptions.json')!;
    expect(new TextDecoder().decode(await extra.read(0, extra.size))).toBe('{"x":"input"}');
    const man = JSON.parse(new TextDecoder().decode(await ot.get('Manifest.json')!.read(0, ot.get('Manifest.json')!.size)));
    expect(man.rootModelIdentifier).toBe(m.rootModelIdentifier);
    const items = Object.values<{ path: string; name: string }>(man.itemInfoEntries);
    expect(items.map((e) => e.path).sort()).toEqual(['com.apple.CoreML/model.mlmodel', 'com.apple.CoreML/weights']);
    expect((await reload(out)).weights.length).toBe(10);
  });
});

