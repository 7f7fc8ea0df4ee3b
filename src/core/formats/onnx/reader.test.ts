/**
 * Reader tests on the 7 real ONNX fixtures, cross-checked against an independent decode done here with
 * protobufjs and DataView (walking every graph, initializer and Constant node in the test itself).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../../tests/fixtures';
import { fileWithSiblings } from '../../../node/fs-tree';
import { memoryTree, type ByteSource, type FileTree } from '../../io/source';
import { F16_TABLE } from '../../tensor/fp16';
import { onnxType, num, type GraphP, type ModelP, type TensorP } from './schema';
import { loadModel } from '../index';
import { writeModel } from '../write';
import { loadTree } from './testkit';

const DIR = fixture('real', 'onnx');
const MODELS = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).sort();
const NAMES: Record<number, string> = { 1: 'fp32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'fp16', 11: 'fp64' };

interface Expected {
  scope: string;
  name: string;
  dims: number[];
  dt: number;
  t: TensorP;
}

/** Every stored tensor, found independently of the reader. */
function expectedTensors(g: GraphP, scope: string, out: Expected[] = []): Expected[] {
  for (const t of g.initializer ?? []) out.push({ scope, name: t.name!, dims: (t.dims ?? []).map(num), dt: t.data_type!, t });
  (g.node ?? []).forEach((n, i) => {
    if (n.op_type === 'Constant') {
      const a = n.attribute!.find((x) => x.name === 'value');
      if (a?.t) out.push({ scope, name: n.output![0], dims: (a.t.dims ?? []).map(num), dt: a.t.data_type!, t: a.t });
    }
    for (const a of n.attribute ?? []) {
      const label = `${scope === 'main' ? '' : scope + '/'}${n.name || `${n.op_type}#${i}`}.${a.name}`;
      if (a.g) expectedTensors(a.g, label, out);
      (a.graphs ?? []).forEach((x, k) => expectedTensors(x, `${label}[${k}]`, out));
    }
  });
  return out;
}

function decodeValues(e: Expected): Float64Array {
  const n = e.dims.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const raw = e.t.raw_data;
  if (raw && raw.length) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) {
      if (e.dt === 1) out[i] = dv.getFloat32(4 * i, true);
      else if (e.dt === 10) out[i] = F16_TABLE[dv.getUint16(2 * i, true)];
      else if (e.dt === 7) out[i] = Number(dv.getBigInt64(8 * i, true));
      else if (e.dt === 6) out[i] = dv.getInt32(4 * i, true);
      else throw new Error(`dtype ${e.dt} not expected in fixtures`);
    }
  } else if (e.dt === 1) out.set(e.t.float_data!);
  else if (e.dt === 7) out.set((e.t.int64_data ?? []).map(num));
  else if (e.dt === 6) out.set(e.t.int32_data!);
  else throw new Error(`typed dtype ${e.dt} not expected in fixtures`);
  return out;
}

describe.each(MODELS)('%s', (file) => {
  it('lists every initializer and Constant tensor with the right shape, dtype, bytes and values', async () => {
    const bytes = readFileSync(`${DIR}/${file}`);
    const pb = onnxType('ModelProto').decode(bytes) as unknown as ModelP;
    const exp = expectedTensors(pb.graph!, 'main');
    const m = await loadTree(fileWithSiblings(`${DIR}/${file}`), file);
    expect(m.weights).toHaveLength(exp.length);
    expect(new Set(m.weights.map((w) => w.id)).size).toBe(exp.length);
    const byKey = new Map(m.weights.map((w) => [`${w.scope}|${w.name}`, w]));
    let params = 0;
    let wbytes = 0;
    for (const e of exp) {
      const w = byKey.get(`${e.scope}|${e.name}`);
      expect(w, `${e.scope}|${e.name}`).toBeDefined();
      expect(w!.shape).toEqual(e.dims);
      expect(w!.dtype).toBe(NAMES[e.dt]);
      const n = e.dims.reduce((a, b) => a * b, 1);
      expect(w!.count).toBe(n);
      if (e.t.raw_data?.length) expect(w!.bytes).toBe(e.t.raw_data.length);
      expect(w!.compression).toBeUndefined();
      const want = decodeValues(e);
      const got = await m.readFloat32(w!.id);
      expect(got.length).toBe(n);
      for (let i = 0; i < n; i++) if (Math.fround(want[i]) !== got[i]) expect(got[i]).toBe(Math.fround(want[i]));
      params += n;
      wbytes += w!.bytes;
    }
    expect(m.summary.weightCount).toBe(exp.length);
    expect(m.summary.totalParams).toBe(params);
    expect(m.summary.totalWeightBytes).toBe(wbytes);
    expect(m.summary.onnx!.irVersion).toBe(num(pb.ir_version));
    expect(m.summary.onnx!.opsets).toEqual(pb.opset_import!.map((o) => ({ domain: o.domain ?? '', version: num(o.version) })));
    expect(m.summary.fileBytes).toBe(bytes.length);
    // every consumer named by the reader reads the weight at that input index
    for (const w of m.weights) for (const c of w.consumers) expect(Number.isInteger(Number(c.param))).toBe(true);
  });
});

describe('known facts of the fixtures', () => {
  it('loadModel detects ONNX by content and dispatches here; writeModel dispatches to the ONNX writer', async () => {
    const file = 'CIFAR10_ImageClassifier.onnx';
    const m = await loadModel(fileWithSiblings(`${DIR}/${file}`));
    expect(m.summary.format).toBe('onnx');
    expect(m.weights).toHaveLength(11);
    const w = await writeModel(m, new Map(), { plan: { target: 'iOS18', steps: [] }, tag: 'same' });
    expect(w.name).toBe('CIFAR10_ImageClassifier.same.onnx');
    expect(w.files[0].size).toBe(readFileSync(`${DIR}/${file}`).length);
  });

  it('SqueezeNet1.0_fp16: 52 fp16 weights, fp16 bits kept exact by readDense', async () => {
    const file = 'SqueezeNet1.0_fp16.onnx';
    const m = await loadTree(fileWithSiblings(`${DIR}/${file}`), file);
    expect(m.weights).toHaveLength(52);
    expect(m.weights.every((w) => w.dtype === 'fp16')).toBe(true);
    expect(m.summary.onnx!.irVersion).toBe(3);
    expect(m.summary.bytesByDtype).toEqual({ fp16: m.summary.totalWeightBytes });
    const pb = onnxType('ModelProto').decode(readFileSync(`${DIR}/${file}`)) as unknown as ModelP;
    const t = pb.graph!.initializer!.find((x) => x.name === 'conv10_w_0')!;
    const w = m.weights.find((x) => x.name === 'conv10_w_0')!;
    const d = await m.readDense(w.id);
    expect(d.dtype).toBe('fp16');
    const raw = t.raw_data!;
    expect(Buffer.compare(Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength), Buffer.from(raw))).toBe(0);
    expect(w.consumers).toMatchObject([{ type: 'Conv', param: '1' }]);
  });

  it('silero: LSTM weights live inside If branches, with unique ids and their LSTM consumers', async () => {
    const file = 'silero_vad_v4_lstm.onnx';
    const m = await loadTree(fileWithSiblings(`${DIR}/${file}`), file);
    const inIf = m.weights.filter((w) => /If_\d+\.(then|else)_branch/.test(w.scope ?? ''));
    expect(inIf.length).toBeGreaterThan(0);
    const lstm = m.weights.filter((w) => w.consumers.some((c) => c.type === 'LSTM'));
    expect(lstm.length).toBeGreaterThan(0);
    expect(lstm.every((w) => w.scope !== 'main')).toBe(true);
    expect(new Set(m.weights.map((w) => w.id)).size).toBe(m.weights.length);
  });

  it('UltraFace (IR 4): initializers also listed as graph inputs are not listed twice', async () => {
    const file = 'UltraFace_version-RFB-320.onnx';
    const pb = onnxType('ModelProto').decode(readFileSync(`${DIR}/${file}`)) as unknown as ModelP;
    const inits = new Set(pb.graph!.initializer!.map((t) => t.name));
    expect(pb.graph!.input!.filter((i) => inits.has(i.name)).length).toBe(inits.size);
    const m = await loadTree(fileWithSiblings(`${DIR}/${file}`), file);
    expect(m.summary.onnx!.irVersion).toBe(4);
    expect(m.weights.filter((w) => w.opType === 'initializer')).toHaveLength(244);
    expect(m.weights.filter((w) => w.opType === 'Constant')).toHaveLength(31);
  });

  it('PPOCRv4: weights stored as Constant nodes are read, with their consumers', async () => {
    const file = 'PPOCRv4_rec_SVTR.onnx';
    const m = await loadTree(fileWithSiblings(`${DIR}/${file}`), file);
    expect(m.weights.every((w) => w.opType === 'Constant')).toBe(true);
    const convs = m.weights.filter((w) => w.consumers.some((c) => c.type === 'Conv'));
    expect(convs.length).toBeGreaterThanOrEqual(38);
    expect(m.summary.note).toMatch(/not offered for compression/);
  });

  it('loading reads the protobuf structure, not the weights: raw_data is read on demand, in ranges', async () => {
    for (const file of ['PPOCRv4_rec_SVTR.onnx', 'silero_vad_v4_lstm.onnx', 'SqueezeNet1.0_fp16.onnx']) {
      const bytes = new Uint8Array(readFileSync(`${DIR}/${file}`));
      let read = 0;
      let biggest = 0;
      const src: ByteSource = {
        name: file,
        size: bytes.length,
        read: async (o, l) => {
          read += l;
          biggest = Math.max(biggest, l);
          return bytes.subarray(o, o + l);
        },
      };
      const tree: FileTree = { name: file, paths: () => [file], get: (p) => (p === file ? src : undefined) };
      const m = await loadTree(tree, file);
      // the big weights stay unread (a whole-file read, or reading them, breaks this bound)
      const big = m.weights.filter((x) => x.bytes >= 1 << 16).reduce((a, x) => a + x.bytes, 0);
      expect(big, file).toBeGreaterThan(bytes.length / 2);
      expect(read, file).toBeLessThan(bytes.length - big / 2);
      expect(biggest, file).toBeLessThan(1 << 20);
      const w = [...m.weights].sort((a, b) => b.bytes - a.bytes)[0];
      const before = read;
      await m.readFloat32(w.id);
      expect(read - before).toBe(w.bytes);
    }
  });

  it('a truncated fixture fails with a protobuf error naming the file; a 0-byte file says it is empty', async () => {
    const bytes = readFileSync(`${DIR}/CIFAR10_ImageClassifier.onnx`);
    const cut = new Uint8Array(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(loadTree(memoryTree('t', { 'cut.onnx': cut }), 'cut.onnx')).rejects.toMatchObject({
      code: 'protobuf-decode',
      message: expect.stringContaining('cut.onnx'),
    });
    await expect(loadTree(memoryTree('t', { 'zero.onnx': new Uint8Array(0) }), 'zero.onnx')).rejects.toMatchObject({
      code: 'empty-file',
      message: expect.stringMatching(/zero\.onnx is empty \(0 bytes\)/),
    });
  });
});
