import { describe, expect, it } from 'vitest';
import { readJson } from '../../../../../tests/fixtures';
import { readNeuralNetwork } from './read';
import { loadNN, sha256f32, nestedNetwork, innerProduct, f32, str } from '../../../../../tests/nn/helpers';
import { isShrinkrayError } from '../../../errors';
import { encodeLenField, encodeVarintField, concatBytes } from '../../../proto/wire';

const NN_CONFIGS = ['nn-linear-8', 'nn-linear-4', 'nn-linear-sym-8', 'nn-fp16', 'nn-linear-lut-2', 'nn-kmeans-4'];
const INPUTS: Record<string, string[]> = {
  base_nn: ['synthetic', 'base_nn.mlmodel'],
  MNIST_CNN: ['real', 'coreml', 'MNIST_CNN.mlmodel'],
};

function checkAgainstGolden(path: string[], golden: any): void {
  const { nn } = loadNN(...path);
  const r = readNeuralNetwork(nn, 'nn', path[path.length - 1]);
  expect(r.weights.map((w) => w.name)).toEqual(golden.weights.map((w: any) => w.name));
  for (const g of golden.weights) {
    const w = r.weights.find((x) => x.name === g.name)!;
    expect(w.baseName).toBe(g.base_name);
    expect(w.opType).toBe(g.op_type);
    expect(w.consumers[0].name).toBe(g.op_name);
    expect(w.shape).toEqual(g.shape);
    expect(w.dtype).toBe(g.dtype);
    expect(w.count).toBe(g.values.count);
    const st = g.storage;
    if (st.nbits !== undefined) expect(w.compression?.nbits).toBe(st.nbits);
    // golden `bytes` is the value payload; ours adds scale / bias / LUT floats
    const extra = 4 * ((st.scale_len ?? 0) + (st.bias_len ?? 0) + (st.lut_len ?? 0));
    expect(w.bytes).toBe((st.bytes ?? 4 * g.values.count) + extra);
    const v = r.readFloat32(w.id);
    expect(v.length).toBe(g.values.count);
    expect(sha256f32(v), `${path.join('/')} ${g.name}`).toBe(g.values.sha256_f32le);
  }
}

describe('readNeuralNetwork against the golden inspections', () => {
  for (const [model, path] of Object.entries(INPUTS)) {
    it(`${model}: base.json`, () => checkAgainstGolden(path, readJson('golden', model, 'base.json')));
    for (const cfg of NN_CONFIGS) {
      it(`${model}: ${cfg} output reads back as coremltools decompresses it`, () => {
        checkAgainstGolden(['golden', model, `${cfg}.mlmodel`], readJson('golden', model, `${cfg}.json`));
      });
    }
  }
});

describe('readNeuralNetwork on real models without goldens', () => {
  it('Exermote: convolutions, two uniDirectionalLSTMs (no peepholes) and a dense layer', () => {
    const { nn } = loadNN('real', 'coreml', 'Exermote_ActivityLSTM.mlmodel');
    const r = readNeuralNetwork(nn, 'nn', 'Exermote_ActivityLSTM.mlmodel');
    expect(r.weights.length).toBe(30);
    const lstm = r.weights.filter((w) => w.opType.startsWith('uniDirectionalLSTM.'));
    expect(lstm.length).toBe(24);
    for (const w of r.weights) {
      expect(r.readFloat32(w.id).length).toBe(w.count);
      expect(w.bytes).toBe(4 * w.count);
      expect(w.nn?.quantizable).toBe(true);
    }
    const wi = r.weights.find((w) => w.name === 'lstm_1.inputGateWeightMatrix')!;
    const rec = r.weights.find((w) => w.name === 'lstm_1.inputGateRecursionMatrix')!;
    expect(rec.shape).toEqual([wi.shape[0], wi.shape[0]]);
    expect(new Set(r.weights.map((w) => w.id)).size).toBe(r.weights.length);
  });

  it('PoseEstimation: 145 convolution weights and 4 × 93 batchnorm vectors', () => {
    const { nn } = loadNN('real', 'coreml', 'PoseEstimation_CPM.mlmodel');
    const r = readNeuralNetwork(nn, 'nn', 'PoseEstimation_CPM.mlmodel');
    const by = (t: string) => r.weights.filter((w) => w.opType === t).length;
    expect(by('convolution.weights')).toBe(145);
    for (const f of ['gamma', 'beta', 'mean', 'variance']) expect(by(`batchnorm.${f}`)).toBe(93);
    expect(r.weights.length).toBe(145 + 4 * 93);
    for (const w of r.weights) {
      const d = r.readDense(w.id);
      expect(d.dtype).toBe('fp32');
      expect(d.data.length).toBe(w.count);
    }
  });
});

// ---- hand-built networks: nesting, repeated names, bad data ----

describe('hand-built networks', () => {
  it('follows branch sub-networks and keeps ids unique', () => {
    const r = readNeuralNetwork(nestedNetwork(), 'm', 'nested.mlmodel');
    expect(r.weights.map((w) => w.id)).toEqual([
      'm/fc.weights',
      'm/br.ifBranch/fc.weights',
      'm/br.ifBranch/fc.bias',
      'm/br.elseBranch/fc.weights',
      'm/br.elseBranch/fc.bias',
    ]);
    expect(r.weights.map((w) => w.name)).toEqual(['fc.weights', 'fc.weights', 'fc.bias', 'fc.weights', 'fc.bias']);
    expect(Array.from(r.readFloat32('m/br.elseBranch/fc.bias'))).toEqual([5, 6]);
    expect(r.weights[1].shape).toEqual([2, 2]);
  });

  it('disambiguates repeated layer names', () => {
    const nn = concatBytes([innerProduct('d', 1, 1, [1]), innerProduct('d', 1, 1, [2])]);
    const r = readNeuralNetwork(nn, 's', 'dup.mlmodel');
    expect(r.weights.map((w) => w.id)).toEqual(['s/d.weights', 's/d.weights#1']);
    expect(r.readFloat32('s/d.weights#1')[0]).toBe(2);
  });

  it('reads unpacked floatValue entries too', () => {
    const wp = concatBytes([1.5, -2].map((v) => concatBytes([Uint8Array.of((1 << 3) | 5), f32(v)])));
    const params = concatBytes([encodeVarintField(1, 2), encodeVarintField(2, 1), encodeLenField(20, wp)]);
    const nn = encodeLenField(1, concatBytes([str(1, 'u'), encodeLenField(140, params)]));
    const r = readNeuralNetwork(nn, 's', 'unpacked.mlmodel');
    expect(Array.from(r.readFloat32('s/u.weights'))).toEqual([1.5, -2]);
  });

  it('names the layer when quantized data is too short', () => {
    const q = concatBytes([encodeVarintField(1, 4), encodeLenField(102, encodeLenField(1, f32(...new Array(16).fill(0))))]);
    const wp = concatBytes([encodeLenField(30, Uint8Array.of(0x12)), encodeLenField(40, q)]);
    const params = concatBytes([encodeVarintField(1, 2), encodeVarintField(2, 2), encodeLenField(20, wp)]);
    const nn = encodeLenField(1, concatBytes([str(1, 'short'), encodeLenField(140, params)]));
    const r = readNeuralNetwork(nn, 's', 'short.mlmodel');
    let err: unknown;
    try {
      r.readFloat32('s/short.weights');
    } catch (e) {
      err = e;
    }
    expect(isShrinkrayError(err)).toBe(true);
    expect((err as Error).message).toMatch(/short\.mlmodel: rawValue of layer 'short' \(innerProduct\.weights\) holds 1 bytes/);
  });

  it('names the layer when its parameters are malformed', () => {
    // a convolution whose parameter message ends inside a field
    const nn = encodeLenField(1, concatBytes([str(1, 'brokenconv'), encodeLenField(100, Uint8Array.of(0x08, 0x80))]));
    expect(() => readNeuralNetwork(nn, 's', 'bad.mlmodel')).toThrow(/bad\.mlmodel: layer 'brokenconv' \(convolution\) is malformed/);
  });

  it('names the file when the network message is malformed', () => {
    const bad = Uint8Array.of(0x0a, 0x10, 1, 2);
    expect(() => readNeuralNetwork(bad, 's', 'trunc.mlmodel')).toThrow(/trunc\.mlmodel: neural network message is malformed/);
  });
});

describe('layer types without fixtures (hand-built from the schema)', () => {
  const layerMsg = (name: string, no: number, params: Uint8Array) => encodeLenField(1, concatBytes([str(1, name), encodeLenField(no, params)]));
  const wp = (n: number) => encodeLenField(1, f32(...Array.from({ length: n }, (_, i) => i + 1)));
  const read = (nn: Uint8Array) => readNeuralNetwork(nn, 'n', 'hand.mlmodel').weights;
  const pick = (ws: ReturnType<typeof read>, name: string) => ws.find((w) => w.name === name)!;

  it('deconvolution: [kernelChannels, outputChannels / groups, kH, kW] on axis 1; bias only quantized with hasBias', () => {
    const params = concatBytes([
      encodeVarintField(1, 6), // outputChannels
      encodeVarintField(2, 4), // kernelChannels
      encodeVarintField(10, 2), // nGroups
      encodeLenField(20, Uint8Array.of(2, 3)), // kernelSize packed
      encodeVarintField(60, 1), // isDeconvolution
      encodeLenField(90, wp(4 * 3 * 2 * 3)),
      encodeLenField(91, wp(6)),
    ]);
    const ws = read(layerMsg('dc', 100, params));
    expect(pick(ws, 'dc.weights').shape).toEqual([4, 3, 2, 3]);
    expect(pick(ws, 'dc.weights').nn).toEqual({ axis: 1, quantizable: true });
    expect(pick(ws, 'dc.bias').nn).toEqual({ axis: 0, quantizable: false });
  });

  it('batchedMatmul weights are [X2, X1]; embeddingND [embeddingSize, vocabSize]', () => {
    const bm = concatBytes([encodeVarintField(5, 3), encodeVarintField(6, 2), encodeVarintField(7, 1), encodeLenField(8, wp(6)), encodeLenField(9, wp(2))]);
    const em = concatBytes([encodeVarintField(1, 5), encodeVarintField(2, 3), encodeLenField(20, wp(15))]);
    const ws = read(concatBytes([layerMsg('bm', 1045, bm), layerMsg('em', 1040, em)]));
    expect(pick(ws, 'bm.weights').shape).toEqual([2, 3]);
    expect(pick(ws, 'bm.bias')).toMatchObject({ shape: [2], opType: 'batchedMatmul.bias', nn: { axis: 0, quantizable: true } });
    expect(pick(ws, 'em.weights')).toMatchObject({ shape: [3, 5], opType: 'embeddingND.weights' });
  });

  it('biDirectionalLSTM: forward / backward weight sets; peepholes quantized only with hasPeepholeVectors', () => {
    const lstmW = concatBytes([encodeLenField(1, wp(2 * 3)), encodeLenField(20, wp(4)), encodeLenField(40, wp(2)), encodeLenField(60, wp(2))]);
    const params = concatBytes([encodeVarintField(1, 3), encodeVarintField(2, 2), encodeLenField(20, lstmW), encodeLenField(20, lstmW)]);
    const ws = read(layerMsg('bi', 430, params));
    expect(ws.map((w) => w.name)).toEqual([
      'bi.forward.inputGateWeightMatrix',
      'bi.forward.inputGateRecursionMatrix',
      'bi.forward.inputGateBiasVector',
      'bi.forward.inputGatePeepholeVector',
      'bi.backward.inputGateWeightMatrix',
      'bi.backward.inputGateRecursionMatrix',
      'bi.backward.inputGateBiasVector',
      'bi.backward.inputGatePeepholeVector',
    ]);
    expect(pick(ws, 'bi.backward.inputGateWeightMatrix').shape).toEqual([2, 3]);
    expect(pick(ws, 'bi.backward.inputGateRecursionMatrix').shape).toEqual([2, 2]);
    expect(pick(ws, 'bi.forward.inputGatePeepholeVector').nn?.quantizable).toBe(false);
    expect(new Set(ws.map((w) => w.id)).size).toBe(8);
  });

  it('gru biases follow hasBiasVectors; PReLU alpha and layerNormalization are listed but never quantized', () => {
    const gru = concatBytes([encodeVarintField(1, 3), encodeVarintField(2, 2), encodeLenField(30, wp(6)), encodeLenField(50, wp(4)), encodeLenField(70, wp(2))]);
    const prelu = encodeLenField(25, encodeLenField(1, wp(4)));
    const ln = concatBytes([encodeLenField(1, Uint8Array.of(4)), encodeLenField(3, wp(4)), encodeLenField(4, wp(4))]);
    const ws = read(concatBytes([layerMsg('g', 410, gru), layerMsg('p', 130, prelu), layerMsg('ln', 1350, ln)]));
    expect(pick(ws, 'g.updateGateWeightMatrix').shape).toEqual([2, 3]);
    expect(pick(ws, 'g.updateGateRecursionMatrix').shape).toEqual([2, 2]);
    expect(pick(ws, 'g.updateGateBiasVector').nn?.quantizable).toBe(false);
    expect(pick(ws, 'p.PReLU.alpha')).toMatchObject({ opType: 'activation.PReLU.alpha', shape: [4], nn: { quantizable: false } });
    expect(pick(ws, 'ln.gamma')).toMatchObject({ shape: [4], nn: { quantizable: false } });
  });

  it('int8RawValue (int8DynamicQuantize) reads as linear quantization with one scale', () => {
    const q = concatBytes([encodeVarintField(1, 8), encodeLenField(101, encodeLenField(1, f32(0.5)))]);
    const w = concatBytes([encodeLenField(31, Uint8Array.of(2, 254, 0, 127)), encodeLenField(40, q)]);
    const params = concatBytes([encodeVarintField(1, 2), encodeVarintField(2, 2), encodeLenField(20, w), encodeVarintField(22, 1)]);
    const r = readNeuralNetwork(layerMsg('i8', 140, params), 'n', 'int8.mlmodel');
    const info = r.weights[0];
    expect(info).toMatchObject({ dtype: 'linearQuantization', count: 4, bytes: 4 + 4 });
    expect(Array.from(r.readFloat32(info.id))).toEqual([1, -1, 0, 63.5]);
    expect(r.readRepr(info.id)).toMatchObject({ kind: 'affine', qdtype: 'int8' });
    expect(() => r.readDense(info.id)).toThrow(/int8\.mlmodel: layer 'i8'.*stored as int8/);
  });
});
