/**
 * Writer tests on hand-built models, run in onnxruntime-node: each dequantization chain must reproduce the
 * representation's values exactly (the weight is read back through an Identity node), at the opsets that
 * select each form (7: Cast/Sub/Mul and float-unpacked sub-byte codes, 13: per-axis DequantizeLinear,
 * 21/IR 10: blocked DequantizeLinear and native INT4/UINT4); weights in If/Loop bodies and Constant nodes;
 * external data inlined; re-compressing a compressed model.
 */
import * as ort from 'onnxruntime-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AffineRepr, Compressed, LutRepr, WeightResult } from '../../compress/types';
import { memoryTree } from '../../io/source';
import { outputBytes, type LoadedModel } from '../../model/types';
import { globalPlan, linearQuantizerConfig } from '../../plan';
import { concatBytes, encodeLenField, encodeVarintField, readFields } from '../../proto/wire';
import { DT } from './dtypes';
import { onnxType, type ModelP } from './schema';
import { loadTree, modelBytes, mulberry32, node, raw, vi } from './testkit';
import { reprToFloat, writeOnnx } from './write';

const rnd = mulberry32(11);
const randn = (n: number) => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

function result(id: string, repr: Compressed): WeightResult {
  return { id, status: 'compressed', repr, label: 'test', bytesBefore: 0, bytesAfter: 0, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 0 };
}

function affine(shape: number[], scaleShape: number[], qdtype: AffineRepr['qdtype'], withOffset: boolean): AffineRepr {
  const n = prod(shape);
  const lo = qdtype === 'int8' ? -128 : qdtype === 'int4' ? -8 : 0;
  const hi = qdtype === 'int8' ? 127 : qdtype === 'int4' ? 7 : qdtype === 'uint8' ? 255 : 15;
  const signed = lo < 0;
  const data = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(rnd() * (hi - lo + 1));
  const m = prod(scaleShape);
  const scale = Float32Array.from({ length: m }, () => 0.01 + rnd() * 0.1);
  let offset: Int8Array | Uint8Array | undefined;
  if (withOffset) {
    offset = signed ? new Int8Array(m) : new Uint8Array(m);
    for (let i = 0; i < m; i++) offset[i] = lo + Math.floor(rnd() * (hi - lo + 1));
  }
  return { kind: 'affine', dtype: 'fp32', qdtype, shape, data, scale, scaleShape, offset };
}

function lut(shape: number[], nbits: number, groups: number[], V = 1, vectorAxis?: number): LutRepr {
  const L = 2 ** nbits;
  const indicesShape = shape.map((s, d) => (d === vectorAxis ? s / V : s));
  const ni = prod(indicesShape);
  const indices = Uint8Array.from({ length: ni }, () => Math.floor(rnd() * L));
  const G = prod(groups);
  return {
    kind: 'lut', dtype: 'fp32', nbits, shape, indices, indicesShape,
    lut: randn(G * L * V), lutShape: [...groups, L, V], ...(vectorAxis !== undefined ? { vectorAxis } : {}),
  };
}

/** A model whose outputs are its weights (through Identity), with the given opset / IR. */
async function identityModel(shapes: Record<string, number[]>, opset: number, ir: number): Promise<LoadedModel> {
  const names = Object.keys(shapes);
  const bytes = modelBytes(
    {
      name: 'g',
      node: names.map((n) => node('Identity', [n], [`${n}_out`])),
      output: names.map((n) => vi(`${n}_out`, DT.FLOAT, shapes[n])),
      initializer: names.map((n) => raw(n, DT.FLOAT, shapes[n], randn(prod(shapes[n])))),
    },
    opset,
    ir,
  );
  return loadTree(memoryTree('t', { 'm.onnx': bytes }), 'm.onnx');
}

async function writeAndRun(m: LoadedModel, reprs: Record<string, Compressed>, feeds: Record<string, ort.Tensor> = {}, optimize = true) {
  const results = new Map<string, WeightResult>();
  for (const [name, r] of Object.entries(reprs)) {
    const w = m.weights.find((x) => x.name === name)!;
    results.set(w.id, result(w.id, r));
  }
  const out = await writeOnnx(m, results, { plan: globalPlan(linearQuantizerConfig()), tag: 'x' });
  const bytes = await outputBytes(out.files[0]);
  const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, graphOptimizationLevel: optimize ? 'all' : 'disabled' });
  const y = await s.run(feeds);
  const decoded = onnxType('ModelProto').decode(bytes) as unknown as ModelP;
  return { bytes, y, decoded, out };
}

function opTypes(d: ModelP): string[] {
  return (d.graph!.node ?? []).map((n) => n.op_type!);
}

describe.each([
  [7, 3],
  [13, 7],
  [21, 10],
])('opset %i / IR %i: every chain reproduces its representation exactly in onnxruntime', (opset, ir) => {
  it('affine int8/uint8/int4/uint4, per-tensor / per-channel / per-block, with and without zero points', async () => {
    const reprs: Record<string, Compressed> = {
      a: affine([16, 8, 3, 3], [1, 1, 1, 1], 'int8', false),
      b: affine([16, 8, 3, 3], [16, 1, 1, 1], 'uint8', true),
      c: affine([64, 12], [1, 12], 'int8', true),
      d: affine([8, 64, 3, 3], [8, 2, 1, 1], 'int4', false),
      e: affine([96, 24], [3, 24], 'uint4', true),
      f: affine([7, 5], [7, 1], 'int4', true), // odd element count
    };
    const m = await identityModel(Object.fromEntries(Object.entries(reprs).map(([k, r]) => [k, (r as AffineRepr).shape])), opset, ir);
    const { y, decoded } = await writeAndRun(m, reprs);
    for (const [k, r] of Object.entries(reprs)) expect(Array.from(y[`${k}_out`].data as Float32Array), k).toEqual(Array.from(reprToFloat(r)));
    const ops = opTypes(decoded);
    const types = new Set((decoded.graph!.initializer ?? []).map((t) => t.data_type));
    if (opset >= 21) {
      expect(ops.filter((o) => o === 'DequantizeLinear')).toHaveLength(6);
    }
    if (opset < 10) expect(ops).not.toContain('DequantizeLinear');
    if (opset === 13) expect(ops.filter((o) => o === 'DequantizeLinear')).toHaveLength(3); // a, b, c (8-bit)
    expect(types.has(DT.INT4) || types.has(DT.UINT4)).toBe(opset >= 21);
    // read back: the same representation values
    const back = await loadTree(memoryTree('o', { 'o.onnx': onnxType('ModelProto').encode(decoded).finish() }), 'o.onnx');
    for (const [k, r] of Object.entries(reprs)) {
      const w = back.weights.find((x) => x.name === k)!;
      expect(w.compression?.kind, k).toBe('quantized');
      expect(Array.from(await back.readFloat32(w.id))).toEqual(Array.from(reprToFloat(r)));
    }
  });

  it('LUTs: per-tensor 8/4/2/1-bit, grouped, vector, per-channel scale, int8-quantized LUT', async () => {
    const gq = lut([32, 16], 4, [4, 1]);
    const q: LutRepr = { ...lut([16, 8], 4, [1, 1]) };
    const qd = Int8Array.from({ length: 16 }, () => Math.floor(rnd() * 255) - 127);
    const qs = new Float32Array([0.02]);
    q.lutQuant = { qdtype: 'int8', data: qd, scale: qs, scaleShape: [1, 1, 1, 1], offset: new Int8Array([3]) };
    q.lut = Float32Array.from(qd, (v) => Math.fround((v - 3) * qs[0]));
    const pcs: LutRepr = { ...lut([12, 6, 3, 3], 2, [1, 1, 1, 1]), perChannelScale: { scale: Float32Array.from({ length: 6 * 9 }, () => rnd() + 0.5), shape: [1, 6, 3, 3] } };
    const reprs: Record<string, Compressed> = {
      p8: lut([24, 10], 8, [1, 1]),
      p4: lut([16, 6, 3, 3], 4, [1, 1, 1, 1]),
      p2: lut([20, 4], 2, [1, 1]),
      p1: lut([8, 8], 1, [1, 1]),
      p3: lut([10, 6], 3, [1, 1]),
      g: gq,
      v: lut([8, 12], 4, [1, 1], 2, 1),
      vg: lut([16, 12, 3, 3], 3, [4, 1, 1, 1], 2, 0),
      q,
      pcs,
    };
    const m = await identityModel(Object.fromEntries(Object.entries(reprs).map(([k, r]) => [k, (r as LutRepr).shape])), opset, ir);
    const { y, decoded } = await writeAndRun(m, reprs);
    for (const [k, r] of Object.entries(reprs)) expect(Array.from(y[`${k}_out`].data as Float32Array), k).toEqual(Array.from(reprToFloat(r)));
    const types = (decoded.graph!.initializer ?? []).map((t) => t.data_type);
    expect(types.includes(DT.UINT4)).toBe(opset >= 21);
    const back = await loadTree(memoryTree('o', { 'o.onnx': onnxType('ModelProto').encode(decoded).finish() }), 'o.onnx');
    for (const [k, r] of Object.entries(reprs)) {
      const w = back.weights.find((x) => x.name === k)!;
      expect(w.compression?.kind, k).toBe('palettized');
      const rep = (await back.readRepr(w.id)) as LutRepr;
      expect(Array.from(rep.indices)).toEqual(Array.from((r as LutRepr).indices));
      expect(Array.from(await back.readFloat32(w.id))).toEqual(Array.from(reprToFloat(r)));
    }
    // 4-bit indices take half a byte each (packed), 8-bit ones a byte
    const w4 = back.weights.find((x) => x.name === 'p4')!;
    expect(w4.bytes).toBeLessThan(16 * 6 * 9 * 0.5 + 16 * 4 + 64);
  });
});

describe('MatMulNBits (onnxruntime contrib) weights', () => {
  it.each([
    [64, 8, 4, 32, true],
    [64, 6, 4, 16, false],
    [40, 5, 8, 16, true],
  ])('K=%i N=%i bits=%i block=%i zp=%s: read as a quantized [K,N] weight equal to what onnxruntime computes', async (K, N, bits, block, withZp) => {
    const kb = Math.ceil(K / block);
    const blob = (block * bits) / 8;
    const B = Uint8Array.from({ length: N * kb * blob }, () => Math.floor(rnd() * 256));
    const scales = Float32Array.from({ length: N * kb }, () => 0.01 + rnd() * 0.05);
    const zpRow = Math.ceil((kb * bits) / 8);
    const Z = Uint8Array.from({ length: N * zpRow }, () => Math.floor(rnd() * 256));
    const graph = {
      name: 'g',
      node: [{ op_type: 'MatMulNBits', domain: 'com.microsoft', name: 'mnb', input: ['A', 'B', 'S', ...(withZp ? ['Z'] : [])], output: ['Y'],
        attribute: [{ name: 'K', type: 2, i: K }, { name: 'N', type: 2, i: N }, { name: 'bits', type: 2, i: bits }, { name: 'block_size', type: 2, i: block }] }],
      input: [vi('A', DT.FLOAT, [K, K])],
      output: [vi('Y', DT.FLOAT, [K, N])],
      initializer: [raw('B', DT.UINT8, [N, kb, blob], B), raw('S', DT.FLOAT, [N * kb], scales), ...(withZp ? [raw('Z', DT.UINT8, [N * zpRow], Z)] : [])],
    };
    const bytes = onnxType('ModelProto').encode({ ir_version: 8, opset_import: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }], graph }).finish();
    const m = await loadTree(memoryTree('t', { 'm.onnx': bytes }), 'm.onnx');
    expect(m.weights).toHaveLength(1);
    const w = m.weights[0];
    expect(w).toMatchObject({ name: 'B', shape: [K, N], dtype: 'fp32', compression: { kind: 'quantized', nbits: bits, granularity: 'per_block', opChain: ['MatMulNBits'] } });
    expect(w.consumers).toEqual([expect.objectContaining({ name: 'mnb', type: 'MatMulNBits', param: '1' })]);
    const eye = new Float32Array(K * K);
    for (let i = 0; i < K; i++) eye[i * K + i] = 1;
    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const y = (await s.run({ A: new ort.Tensor('float32', eye, [K, K]) })).Y.data as Float32Array;
    const v = await m.readFloat32(w.id);
    for (let i = 0; i < K * N; i++) expect(v[i]).toBeCloseTo(y[i], 6);
    const results = new Map([[w.id, result(w.id, affine([K, N], [1, N], 'int8', false))]]);
    await expect(writeOnnx(m, results, { plan: globalPlan(linearQuantizerConfig()) })).rejects.toMatchObject({ code: 'invalid-option' });
  });
});

describe('writer: subgraphs, Constant nodes, fp16 models, external data, refusals', () => {
  it('compresses weights in If branches (initializer and Constant) and they run in onnxruntime', async () => {
    const W1 = randn(4 * 3);
    const W2 = randn(4 * 3);
    const thenG = { name: 'then', node: [node('MatMul', ['X', 'W1'], ['t'], [], 'mm1')], output: [vi('t', DT.FLOAT, [2, 3])], initializer: [raw('W1', DT.FLOAT, [4, 3], W1)] };
    const elseG = {
      name: 'else',
      node: [node('Constant', [], ['W2'], [{ name: 'value', type: 4, t: raw('', DT.FLOAT, [4, 3], W2) }], 'c2'), node('MatMul', ['X', 'W2'], ['e'], [], 'mm2')],
      output: [vi('e', DT.FLOAT, [2, 3])],
    };
    const bytes = modelBytes({
      name: 'g',
      node: [node('If', ['cond'], ['y'], [{ name: 'then_branch', type: 5, g: thenG }, { name: 'else_branch', type: 5, g: elseG }], 'if')],
      input: [vi('cond', DT.BOOL, []), vi('X', DT.FLOAT, [2, 4])],
      output: [vi('y', DT.FLOAT, [2, 3])],
    });
    const m = await loadTree(memoryTree('t', { 'm.onnx': bytes }), 'm.onnx');
    const r1 = affine([4, 3], [1, 3], 'int8', false);
    const r2 = lut([4, 3], 4, [1, 1]);
    const X = randn(8);
    for (const cond of [true, false]) {
      const feeds = { cond: new ort.Tensor('bool', [cond], []), X: new ort.Tensor('float32', X, [2, 4]) };
      // onnxruntime's optimizer fuses DequantizeLinear(int8) → MatMul into com.microsoft.MatMulNBits with
      // accuracy_level 4 (int8 activations), which changes the numbers slightly: check the graph's meaning unfused
      const { y, decoded } = await writeAndRun(m, { W1: r1, W2: r2 }, feeds, false);
      const W = reprToFloat(cond ? r1 : r2);
      const want = new Float32Array(6);
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += X[i * 4 + k] * W[k * 3 + j];
        want[i * 3 + j] = s;
      }
      const got = y.y.data as Float32Array;
      for (let i = 0; i < 6; i++) expect(got[i], `cond ${cond} [${i}] ${Array.from(got)} vs ${Array.from(want)}`).toBeCloseTo(want[i], 5);
      const br = decoded.graph!.node![0].attribute!;
      expect(br.find((a) => a.name === 'else_branch')!.g!.node!.some((n) => n.op_type === 'Constant')).toBe(false);
      expect(br.find((a) => a.name === 'then_branch')!.g!.initializer!.some((t) => t.name === 'W1')).toBe(false);
    }
  });

  it('inlines external data (initializers and Constant values) into a single .onnx and keeps the values', async () => {
    const values = randn(6);
    const model = modelBytes({
      name: 'g',
      node: [
        node('Constant', [], ['C'], [{ name: 'value', type: 4, t: { data_type: DT.FLOAT, dims: [2, 3], data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '24' }, { key: 'length', value: '24' }] } }], 'const_ext'),
        node('Identity', ['W'], ['y']),
        node('Identity', ['V'], ['z']),
        node('Identity', ['C'], ['c']),
      ],
      output: [vi('y', DT.FLOAT, [2, 3]), vi('z', DT.FLOAT, [2, 3]), vi('c', DT.FLOAT, [2, 3])],
      initializer: [
        { name: 'W', data_type: DT.FLOAT, dims: [2, 3], data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '0' }, { key: 'length', value: '24' }] },
        { name: 'V', data_type: DT.FLOAT, dims: [2, 3], data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '24' }, { key: 'length', value: '24' }] },
      ],
    });
    const data = new Uint8Array(48);
    data.set(new Uint8Array(values.buffer));
    data.set(new Uint8Array(values.buffer), 24);
    const m = await loadTree(memoryTree('t', { 'm.onnx': model, 'w.bin': data }), 'm.onnx');
    const r = affine([2, 3], [2, 1], 'int8', false);
    const { y, out, decoded } = await writeAndRun(m, { V: r });
    expect(out.files).toHaveLength(1);
    expect(out.name).toBe('m.x.onnx');
    expect(Array.from(y.y.data as Float32Array)).toEqual(Array.from(values));
    expect(Array.from(y.z.data as Float32Array)).toEqual(Array.from(reprToFloat(r)));
    expect(Array.from(y.c.data as Float32Array)).toEqual(Array.from(values));
    expect(decoded.graph!.initializer!.every((t) => t.data_location !== 1 && !(t.external_data ?? []).length)).toBe(true);
    expect(decoded.graph!.node!.find((n) => n.name === 'const_ext')!.attribute![0].t!.data_location ?? 0).toBe(0);
  });

  it('writes external data (4096-aligned, lazily read) when the single file would be too big, and onnxruntime loads it', async () => {
    const m = await identityModel({ a: [64, 32], b: [4, 4] }, 13, 7);
    const r = lut([64, 32], 4, [1, 1]);
    const wa = m.weights.find((x) => x.name === 'a')!;
    const out = await writeOnnx(m, new Map([[wa.id, result(wa.id, r)]]), { plan: globalPlan(linearQuantizerConfig()), tag: 'ext' }, { externalAbove: 0, externalMin: 64 });
    expect(out.files.map((f) => f.path)).toEqual(['m.ext.onnx', 'm.ext.onnx.data']);
    expect(out.notes?.some((n) => /external data/.test(n))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'onnx-ext-'));
    const files: Record<string, Uint8Array> = {};
    for (const f of out.files) {
      files[f.path] = await outputBytes(f);
      writeFileSync(join(dir, f.path), files[f.path]);
    }
    const dec = onnxType('ModelProto').decode(files['m.ext.onnx']) as unknown as ModelP;
    const ext = (dec.graph!.initializer ?? []).filter((t) => t.data_location === 1);
    expect(ext.length).toBeGreaterThan(0);
    for (const t of ext) expect(Number(t.external_data!.find((e) => e.key === 'offset')!.value) % 4096).toBe(0);
    const s = await ort.InferenceSession.create(join(dir, 'm.ext.onnx'), { logSeverityLevel: 3 });
    const y = await s.run({});
    expect(Array.from(y.a_out.data as Float32Array)).toEqual(Array.from(reprToFloat(r)));
    expect(Array.from(y.b_out.data as Float32Array)).toEqual(Array.from(await m.readFloat32(m.weights.find((x) => x.name === 'b')!.id)));
    const back = await loadTree(memoryTree('o', files), 'm.ext.onnx');
    expect(back.weights.find((x) => x.name === 'a')!.compression?.kind).toBe('palettized');
    expect(Array.from(await back.readFloat32(back.weights.find((x) => x.name === 'a')!.id))).toEqual(Array.from(reprToFloat(r)));
  });

  it('keeps fields its schema does not know, at model, graph and tensor level, byte for byte', async () => {
    const keepT = concatBytes([onnxType('TensorProto').encode(raw('K', DT.FLOAT, [2, 2], randn(4))).finish(), encodeVarintField(99, 5)]);
    const graph = concatBytes([
      onnxType('GraphProto').encode({ name: 'g', node: [node('Identity', ['W'], ['y']), node('Identity', ['K'], ['z'])], output: [vi('y', DT.FLOAT, [8, 8]), vi('z', DT.FLOAT, [2, 2])], initializer: [raw('W', DT.FLOAT, [8, 8], randn(64))] }).finish(),
      encodeLenField(5, keepT),
      encodeLenField(98, new TextEncoder().encode('graph-extension')),
    ]);
    const model = concatBytes([
      encodeVarintField(1, 7),
      encodeLenField(8, onnxType('OperatorSetIdProto').encode({ domain: '', version: 13 }).finish()),
      encodeLenField(7, graph),
      encodeVarintField(97, 123456),
    ]);
    const m = await loadTree(memoryTree('t', { 'm.onnx': model }), 'm.onnx');
    const r = affine([8, 8], [8, 1], 'int8', false);
    const { bytes, y } = await writeAndRun(m, { W: r });
    expect(Array.from(y.y.data as Float32Array)).toEqual(Array.from(reprToFloat(r)));
    const top = readFields(bytes);
    expect(top.find((f) => f.no === 97)?.varint).toBe(123456);
    const gf = top.find((f) => f.no === 7)!;
    const gb = bytes.subarray(gf.dataStart, gf.dataEnd);
    const gFields = readFields(gb);
    const ext = gFields.find((f) => f.no === 98)!;
    expect(new TextDecoder().decode(gb.subarray(ext.dataStart, ext.dataEnd))).toBe('graph-extension');
    const kept = gFields.filter((f) => f.no === 5).map((f) => gb.subarray(f.dataStart, f.dataEnd));
    expect(kept.some((t) => Buffer.compare(Buffer.from(t), Buffer.from(keepT)) === 0)).toBe(true);
  });

  it('re-compresses an already compressed weight without leaving its old initializers behind', async () => {
    const m = await identityModel({ a: [16, 16] }, 13, 7);
    const first = await writeAndRun(m, { a: lut([16, 16], 4, [1, 1]) });
    const m2 = await loadTree(memoryTree('o', { 'o.onnx': first.bytes }), 'o.onnx');
    expect(m2.weights).toHaveLength(1);
    const r = affine([16, 16], [16, 1], 'int8', false);
    const second = await writeAndRun(m2, { a: r });
    expect(Array.from(second.y.a_out.data as Float32Array)).toEqual(Array.from(reprToFloat(r)));
    expect(second.decoded.graph!.node!.some((n) => n.op_type === 'Gather')).toBe(false);
    expect((second.decoded.graph!.initializer ?? []).some((t) => /lut|indices/.test(t.name ?? ''))).toBe(false);
  });

  it('refuses opsets below 7 and vector LUTs it cannot express', async () => {
    const m = await identityModel({ a: [8, 8] }, 6, 3);
    await expect(writeAndRun(m, { a: affine([8, 8], [8, 1], 'int8', false) })).rejects.toMatchObject({ code: 'target-too-low', message: expect.stringMatching(/opset 7.*opset 6/) });
    const m2 = await identityModel({ a: [6, 8] }, 13, 7);
    const bad = lut([6, 8], 2, [3, 1], 4, 0); // groups of 2 rows cannot hold vectors of 4 rows
    await expect(writeAndRun(m2, { a: { ...bad, indicesShape: [2, 8], indices: bad.indices.subarray(0, 16) } })).rejects.toMatchObject({ code: 'invalid-option' });
  });
});
