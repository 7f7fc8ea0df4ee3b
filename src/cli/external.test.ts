/** The CLI on an ONNX model whose weights live in an external data file beside it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../../tests/fixtures';
import { concatBytes, encodeLenField, encodeVarintField } from '../core/proto/wire';
import { loadPath } from '../node/load';

const enc = new TextEncoder();
const str = (no: number, s: string) => encodeLenField(no, enc.encode(s));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function valueInfo(name: string, dims: number[]): Uint8Array {
  const shape = concatBytes(dims.map((d) => encodeLenField(1, encodeVarintField(1, d))));
  const tensorType = concatBytes([encodeVarintField(1, 1), encodeLenField(2, shape)]);
  return concatBytes([str(1, name), encodeLenField(2, encodeLenField(1, tensorType))]);
}

/** y = MatMul(x[1,64], W[64,64]) with W (fp32) stored in `dataFile` at `offset`. */
function onnxWithExternalWeight(dataFile: string, offset: number): Uint8Array {
  const kv = (k: string, v: string) => encodeLenField(13, concatBytes([str(1, k), str(2, v)]));
  const W = concatBytes([
    encodeVarintField(1, 64),
    encodeVarintField(1, 64),
    encodeVarintField(2, 1),
    str(8, 'W'),
    kv('location', dataFile),
    kv('offset', String(offset)),
    kv('length', String(64 * 64 * 4)),
    encodeVarintField(14, 1),
  ]);
  const node = concatBytes([str(1, 'x'), str(1, 'W'), str(2, 'y'), str(3, 'mm'), str(4, 'MatMul')]);
  const graph = concatBytes([
    encodeLenField(1, node),
    str(2, 'g'),
    encodeLenField(5, W),
    encodeLenField(11, valueInfo('x', [1, 64])),
    encodeLenField(12, valueInfo('y', [1, 64])),
  ]);
  return concatBytes([encodeVarintField(1, 7), str(2, 'shrinkray-test'), encodeLenField(7, graph), encodeLenField(8, encodeVarintField(2, 13))]);
}

let tmp: string;
const values = new Float32Array(64 * 64).map((_, i) => Math.sin(i * 0.37) * 0.05);
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-ext-'));
  mkdirSync(join(tmp, 'in'));
  writeFileSync(join(tmp, 'in', 'mm.onnx'), onnxWithExternalWeight('mm.weights', 128));
  const data = new Uint8Array(128 + values.byteLength);
  data.set(new Uint8Array(values.buffer), 128);
  writeFileSync(join(tmp, 'in', 'mm.weights'), data);
  mkdirSync(join(tmp, 'sub', 'data'), { recursive: true });
  writeFileSync(join(tmp, 'sub', 'mm.onnx'), onnxWithExternalWeight('data/mm.weights', 128));
  writeFileSync(join(tmp, 'sub', 'data', 'mm.weights'), data);
  mkdirSync(join(tmp, 'lonely'));
  writeFileSync(join(tmp, 'lonely', 'mm.onnx'), onnxWithExternalWeight('mm.weights', 128));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('ONNX with external data', () => {
  it('inspect finds the data file beside the model', async () => {
    const r = cli('inspect', join(tmp, 'in', 'mm.onnx'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.weights).toHaveLength(1);
    expect(j.weights[0]).toMatchObject({ name: 'W', shape: [64, 64], location: { kind: 'external', file: 'mm.weights', offset: 128 } });
    const m = await loadPath(join(tmp, 'in', 'mm.onnx'));
    expect(Array.from(await m.readFloat32(m.weights[0].id))).toEqual(Array.from(values));
  });

  it('a data file in a sub-folder (location "data/mm.weights") is found too', async () => {
    const m = await loadPath(join(tmp, 'sub', 'mm.onnx'));
    expect(m.weights[0].location).toMatchObject({ kind: 'external', file: 'data/mm.weights' });
    expect(Array.from(await m.readFloat32(m.weights[0].id))).toEqual(Array.from(values));
  });

  it('a missing data file → exit 1 naming it', () => {
    const r = cli('inspect', join(tmp, 'lonely', 'mm.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mm\.weights/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('compress writes an .onnx (and any data it needs) that loads back with W quantized', async () => {
    const outDir = join(tmp, 'out');
    mkdirSync(outDir);
    const r = cli('compress', join(tmp, 'in', 'mm.onnx'), '-o', join(outDir, 'mm.q8.onnx'), '--quantize', 'int8', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.totals.compressed).toBe(1);
    expect(existsSync(join(outDir, 'mm.q8.onnx'))).toBe(true);
    expect(readdirSync(outDir).every((f) => !f.startsWith('.'))).toBe(true); // no temporary files left
    const back = await loadPath(join(outDir, 'mm.q8.onnx'));
    expect(back.weights[0].compression?.kind).toBe('quantized');
    const v = await back.readFloat32(back.weights[0].id);
    const maxAbs = values.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (let i = 0; i < v.length; i++) expect(Math.abs(v[i] - values[i])).toBeLessThanOrEqual(maxAbs / 127 / 2 + 1e-7);
  });
});
