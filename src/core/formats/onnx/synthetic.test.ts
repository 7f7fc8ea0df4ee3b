/**
 * Hand-built models (encoded here with the schema) for what the fixtures do not cover: typed data fields,
 * every small dtype, packed and unpacked repeated fields, Constant nodes, nested subgraphs, sparse tensors,
 * DequantizeLinear weights, external data and its failure modes.
 */
import { describe, expect, it } from 'vitest';
import type { ByteSource, FileTree } from '../../io/source';
import { memorySource, memoryTree } from '../../io/source';
import { concatBytes, encodeLenField, encodeVarint, encodeVarintField } from '../../proto/wire';
import { f32ToF16 } from '../../tensor/fp16';
import { DT } from './dtypes';
import { onnxType } from './schema';
import { loadTree } from './testkit';

import { modelBytes, node, raw, vi } from './testkit';

async function load(files: Record<string, Uint8Array>, main = 'm.onnx') {
  return loadTree(memoryTree('t', files), main);
}

describe('typed fields and dtypes', () => {
  const f16 = (v: number) => f32ToF16(v);
  const graph = {
    name: 'g',
    node: [node('Identity', ['F'], ['y'])],
    output: [vi('y', 1, [2, 3])],
    initializer: [
      { name: 'F', data_type: DT.FLOAT, dims: [2, 3], float_data: [1, -2, 3.5, 0, 0.25, -8] },
      { name: 'H', data_type: DT.FLOAT16, dims: [3], int32_data: [f16(1), f16(-0.5), f16(65504)] },
      { name: 'B', data_type: DT.BFLOAT16, dims: [2], int32_data: [0x3f80, 0xc040] },
      { name: 'I4', data_type: DT.INT4, dims: [5], int32_data: [0x8f, 0x21, 0x07] },
      raw('U4', DT.UINT4, [3], new Uint8Array([0xa5, 0x0f])),
      { name: 'D', data_type: DT.DOUBLE, dims: [2], double_data: [1.5, -1e10] },
      { name: 'L', data_type: DT.INT64, dims: [2], int64_data: [-3, 12345678] },
      { name: 'U32', data_type: DT.UINT32, dims: [1], uint64_data: [4000000000] },
      raw('I8', DT.INT8, [3], new Int8Array([-128, 0, 127])),
      { name: 'U8', data_type: DT.UINT8, dims: [2], int32_data: [0, 255] },
      raw('E4', DT.FLOAT8E4M3FN, [3], new Uint8Array([0x38, 0xb8, 0x7e])),
      raw('E5', DT.FLOAT8E5M2, [2], new Uint8Array([0x3c, 0x7c])),
      raw('BF', DT.BFLOAT16, [1], new Uint16Array([0x4049])),
      raw('BOOL', DT.BOOL, [2], new Uint8Array([1, 0])),
      raw('U2', DT.UINT2, [5], new Uint8Array([0b11100100, 0b00000011])),
      raw('I2', DT.INT2, [5], new Uint8Array([0b11100100, 0b00000011])),
      raw('FP4', DT.FLOAT4E2M1, [3], new Uint8Array([0x21, 0x0f])),
      raw('E8', DT.FLOAT8E8M0, [3], new Uint8Array([127, 128, 255])),
      raw('E4UZ', DT.FLOAT8E4M3FNUZ, [2], new Uint8Array([0x80, 0x40])),
      raw('E5UZ', DT.FLOAT8E5M2FNUZ, [1], new Uint8Array([0x40])),
    ],
  };

  it('decodes raw_data and every typed field to float32', async () => {
    const m = await load({ 'm.onnx': modelBytes(graph) });
    const v = async (n: string) => Array.from(await m.readFloat32(m.weights.find((w) => w.name === n)!.id));
    expect(await v('F')).toEqual([1, -2, 3.5, 0, 0.25, -8]);
    expect(await v('H')).toEqual([1, -0.5, 65504]);
    expect(await v('B')).toEqual([1, -3]);
    expect(await v('I4')).toEqual([-1, -8, 1, 2, 7]);
    expect(await v('U4')).toEqual([5, 10, 15]);
    expect(await v('D')).toEqual([1.5, -1e10]);
    expect(await v('L')).toEqual([-3, 12345678]);
    expect(await v('U32')).toEqual([4000000000]);
    expect(await v('I8')).toEqual([-128, 0, 127]);
    expect(await v('U8')).toEqual([0, 255]);
    expect((await v('E4')).slice(0, 2)).toEqual([1, -1]);
    expect((await v('E4'))[2]).toBe(448);
    expect(await v('E5')).toEqual([1, Infinity]);
    expect((await v('BF'))[0]).toBeCloseTo(3.140625, 6);
    expect(await v('BOOL')).toEqual([1, 0]);
    expect(await v('U2')).toEqual([0, 1, 2, 3, 3]);
    expect(await v('I2')).toEqual([0, 1, -2, -1, -1]);
    expect(await v('FP4')).toEqual([0.5, 1, -6]);
    expect(await v('E8')).toEqual([1, 2, NaN]);
    expect(await v('E4UZ')).toEqual([NaN, 1]);
    expect(await v('E5UZ')).toEqual([1]);
    expect(m.weights.find((w) => w.name === 'U2')!.bytes).toBe(2);
    const dt = Object.fromEntries(m.weights.map((w) => [w.name, w.dtype]));
    expect(dt).toMatchObject({ F: 'fp32', H: 'fp16', B: 'bf16', I4: 'int4', U4: 'uint4', D: 'fp64', L: 'int64', I8: 'int8', E4: 'fp8e4m3fn', BOOL: 'bool' });
    expect(m.weights.find((w) => w.name === 'U4')!.bytes).toBe(2);
    expect(m.weights.find((w) => w.name === 'F')!.consumers).toEqual([{ name: 'Identity_y', type: 'Identity', param: '0' }]);
    expect(m.summary.note).toMatch(/listed but not offered for compression/);
  });

  it('accepts unpacked float_data and packed dims (proto2 readers take both encodings)', async () => {
    const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer);
    const tensor = concatBytes([
      encodeLenField(1, concatBytes([encodeVarint(2), encodeVarint(2)])), // dims packed
      encodeVarintField(2, DT.FLOAT),
      ...[1, 2, 3, 4].map((v) => concatBytes([encodeVarint((4 << 3) | 5), f32(v)])), // float_data unpacked
      encodeLenField(8, new TextEncoder().encode('W')),
    ]);
    const g = onnxType('GraphProto').encode({ name: 'g', node: [node('Identity', ['W'], ['y'])] }).finish();
    const graphBytes = concatBytes([g, encodeLenField(5, tensor)]);
    const model = concatBytes([encodeVarintField(1, 7), encodeLenField(7, graphBytes), encodeLenField(8, onnxType('OperatorSetIdProto').encode({ domain: '', version: 13 }).finish())]);
    const m = await load({ 'm.onnx': model });
    expect(m.weights[0].shape).toEqual([2, 2]);
    expect(Array.from(await m.readFloat32(m.weights[0].id))).toEqual([1, 2, 3, 4]);
  });

  it('rejects typed data that does not fit the shape, and negative dims, at load time', async () => {
    const huge = { name: 'g', node: [], initializer: [{ name: 'W', data_type: DT.FLOAT, dims: [1e6, 1e6], float_data: [1, 2] }] };
    await expect(load({ 'm.onnx': modelBytes(huge) })).rejects.toMatchObject({ code: 'protobuf-decode', message: expect.stringMatching(/W has 2 entries in float_data but its shape \[1000000,1000000\] needs 1000000000000/) });
    const neg = { name: 'g', node: [], initializer: [{ name: 'N', data_type: DT.FLOAT, dims: [-2, 3], float_data: [] }] };
    await expect(load({ 'm.onnx': modelBytes(neg) })).rejects.toMatchObject({ code: 'protobuf-decode', message: expect.stringMatching(/N has an invalid shape/) });
  });

  it('rejects raw_data whose length does not match the shape', async () => {
    const g = { name: 'g', node: [], initializer: [raw('W', DT.FLOAT, [3], new Float32Array(2))] };
    await expect(load({ 'm.onnx': modelBytes(g) })).rejects.toMatchObject({ code: 'protobuf-decode', message: expect.stringMatching(/m\.onnx.*W.*8 bytes.*needs 12/) });
  });
});

describe('Constant nodes, sparse tensors, nested subgraphs', () => {
  const W = new Float32Array([1, 2, 3, 4, 5, 6]);
  const inner = {
    name: 'then',
    node: [
      node('Constant', [], ['C'], [{ name: 'value', type: 4, t: raw('', DT.FLOAT, [2, 3], W) }], 'const_in_then'),
      node('MatMul', ['X', 'C'], ['t_out'], [], 'mm_then'),
      node('Add', ['t_out', 'OUTER'], ['t_out2'], [], 'add_outer'),
    ],
    output: [vi('t_out2', 1, [1, 3])],
    initializer: [raw('T_INIT', DT.FLOAT, [3], new Float32Array([7, 8, 9]))],
  };
  const body = {
    name: 'body',
    node: [node('If', ['cond'], ['r'], [{ name: 'then_branch', type: 5, g: inner }, { name: 'else_branch', type: 5, g: { name: 'else', node: [node('Identity', ['OUTER'], ['e'], [], 'id_else')], output: [vi('e', 1, [3])] } }], 'if_in_loop')],
  };
  const graph = {
    name: 'main',
    node: [
      node('Constant', [], ['SP'], [{ name: 'sparse_value', type: 11, sparse_tensor: { values: raw('SP', DT.FLOAT, [2], new Float32Array([5, -1])), indices: raw('', DT.INT64, [2, 2], new BigInt64Array([0n, 1n, 2n, 0n])), dims: [3, 2] } }], 'sp_const'),
      node('Loop', ['', 'cond'], ['out'], [{ name: 'body', type: 5, g: body }], 'loop'),
      node('Identity', ['SI'], ['si_out'], [], 'use_si'),
    ],
    initializer: [raw('OUTER', DT.FLOAT, [3], new Float32Array([1, 1, 1]))],
    sparse_initializer: [{ values: raw('SI', DT.FLOAT, [3], new Float32Array([1.5, 2.5, 3.5])), indices: raw('', DT.INT64, [3], new BigInt64Array([1n, 4n, 7n])), dims: [2, 4] }],
  };

  it('finds weights at every depth, with graph-path scopes, unique ids and outer-scope consumers', async () => {
    const m = await load({ 'm.onnx': modelBytes(graph) });
    const by = Object.fromEntries(m.weights.map((w) => [w.name, w]));
    expect(Object.keys(by).sort()).toEqual(['C', 'OUTER', 'SI', 'SP', 'T_INIT']);
    expect(by.C.scope).toBe('loop.body/if_in_loop.then_branch');
    expect(by.C.opType).toBe('Constant');
    expect(by.C.consumers).toEqual([{ name: 'mm_then', type: 'MatMul', param: '1' }]);
    expect(Array.from(await m.readFloat32(by.C.id))).toEqual(Array.from(W));
    expect(by.T_INIT.scope).toBe('loop.body/if_in_loop.then_branch');
    // OUTER is read inside both branches of the If inside the Loop body
    expect(by.OUTER.consumers.map((c) => c.name).sort()).toEqual(['add_outer', 'id_else']);
    expect(new Set(m.weights.map((w) => w.id)).size).toBe(5);
  });

  it('reads sparse initializers and sparse Constant values (linear and coordinate indices) as compressed', async () => {
    const m = await load({ 'm.onnx': modelBytes(graph) });
    const si = m.weights.find((w) => w.name === 'SI')!;
    expect(si.compression?.kind).toBe('sparse');
    expect(si.shape).toEqual([2, 4]);
    expect(Array.from(await m.readFloat32(si.id))).toEqual([0, 1.5, 0, 0, 2.5, 0, 0, 3.5]);
    const rep = await m.readRepr(si.id);
    expect(rep.kind).toBe('sparse');
    if (rep.kind === 'sparse') expect(Array.from(rep.mask)).toEqual([0, 1, 0, 0, 1, 0, 0, 1]);
    expect(si.bytes).toBe(12 + 24);
    const sp = m.weights.find((w) => w.name === 'SP')!;
    expect(sp.opType).toBe('Constant');
    expect(Array.from(await m.readFloat32(sp.id))).toEqual([0, 5, 0, 0, -1, 0]);
  });
});

describe('DequantizeLinear weights', () => {
  it('shows an int8 per-axis initializer feeding DequantizeLinear as one quantized weight', async () => {
    const q = new Int8Array([-2, 1, 3, 4, -5, 6]);
    const graph = {
      name: 'g',
      node: [node('DequantizeLinear', ['Wq', 'Ws', 'Wz'], ['W'], [{ name: 'axis', type: 2, i: 0 }], 'dq'), node('MatMul', ['X', 'W'], ['y'], [], 'mm')],
      initializer: [raw('Wq', DT.INT8, [2, 3], q), raw('Ws', DT.FLOAT, [2], new Float32Array([0.5, 2])), raw('Wz', DT.INT8, [2], new Int8Array([1, -1]))],
    };
    const m = await load({ 'm.onnx': modelBytes(graph) });
    expect(m.weights).toHaveLength(1);
    const w = m.weights[0];
    expect(w).toMatchObject({ name: 'W', dtype: 'fp32', shape: [2, 3], bytes: 6 + 8 + 2, compression: { kind: 'quantized', nbits: 8, granularity: 'per_channel', opChain: ['DequantizeLinear'] } });
    expect(w.consumers).toEqual([{ name: 'mm', type: 'MatMul', param: '1' }]);
    expect(Array.from(await m.readFloat32(w.id))).toEqual([-1.5, 0, 1, 10, -8, 14]);
    const rep = await m.readRepr(w.id);
    expect(rep).toMatchObject({ kind: 'affine', qdtype: 'int8', scaleShape: [2, 1] });
  });
});

/** A source that counts reads, to show that external data is read on demand. */
function counting(src: ByteSource): ByteSource & { reads: number } {
  const c = { name: src.name, size: src.size, reads: 0, read: (o: number, l: number) => (c.reads++, src.read(o, l)) };
  return c;
}

describe('external data', () => {
  const values = new Float32Array([0.5, -1, 2, 4, 8, 16]);
  const ext = (location: string, offset?: number, length?: number) => {
    const kv = [{ key: 'location', value: location }];
    if (offset !== undefined) kv.push({ key: 'offset', value: String(offset) });
    if (length !== undefined) kv.push({ key: 'length', value: String(length) });
    return modelBytes({ name: 'g', node: [node('Identity', ['W'], ['y'])], initializer: [{ name: 'W', data_type: DT.FLOAT, dims: [2, 3], data_location: 1, external_data: kv }] });
  };
  const data = new Uint8Array(4096 + 24);
  data.set(new Uint8Array(values.buffer), 4096);

  it('resolves the location next to the model, reads the values on demand', async () => {
    const dataSrc = counting(memorySource('dir/w.bin', data));
    const tree: FileTree = { name: 'dir', paths: () => ['dir/m.onnx', 'dir/w.bin'], get: (p) => (p === 'dir/m.onnx' ? memorySource(p, ext('w.bin', 4096, 24)) : p === 'dir/w.bin' ? dataSrc : undefined) };
    const m = await loadTree(tree, 'dir/m.onnx');
    expect(dataSrc.reads).toBe(0);
    expect(m.weights[0].location).toEqual({ kind: 'external', file: 'w.bin', offset: 4096, length: 24 });
    expect(m.summary.fileBytes).toBe(tree.get('dir/m.onnx')!.size + data.length);
    expect(Array.from(await m.readFloat32(m.weights[0].id))).toEqual(Array.from(values));
    expect(dataSrc.reads).toBe(1);
  });

  it('names a missing data file', async () => {
    await expect(load({ 'm.onnx': ext('weights.bin', 0, 24) })).rejects.toMatchObject({
      code: 'external-data-missing',
      message: 'm.onnx: external data file weights.bin (tensor W) not found: drop it together with the .onnx',
    });
  });

  it('refuses a range past the end of the data file, and a length that does not fit the shape', async () => {
    await expect(load({ 'm.onnx': ext('w.bin', 4096, 24), 'w.bin': data.subarray(0, 4100) })).rejects.toMatchObject({
      code: 'external-data-range',
      message: expect.stringMatching(/w\.bin: tensor W at offset 4096 with length 24 runs past the end of the file \(4100 bytes\)/),
    });
    await expect(load({ 'm.onnx': ext('w.bin', 4096, 20), 'w.bin': data })).rejects.toMatchObject({ code: 'external-data-range', message: expect.stringMatching(/needs 24 bytes/) });
  });

  it('refuses locations that leave the model folder', async () => {
    for (const loc of ['../w.bin', 'a/../../w.bin', '/etc/passwd', 'C:\\w.bin']) {
      await expect(load({ 'm.onnx': ext(loc, 0, 24), 'w.bin': data })).rejects.toMatchObject({ code: 'external-data-range', message: expect.stringMatching(/refused/) });
    }
  });
});
