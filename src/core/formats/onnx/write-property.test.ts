/**
 * Property test: random affine and LUT representations (rank 1-4, random divisor scale shapes and groups,
 * zero points, vector LUTs, all bit widths) at opsets 7, 13 and 21, written and run in onnxruntime: the
 * weight read back through Identity equals the engine's decompression exactly, and the reader returns the
 * same values.
 */
import * as fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { AffineRepr, Compressed, LutRepr, WeightResult } from '../../compress/types';
import { memoryTree } from '../../io/source';
import { outputBytes } from '../../model/types';
import { globalPlan, linearQuantizerConfig } from '../../plan';
import { roundF16 } from '../../tensor/fp16';
import { DT } from './dtypes';
import { loadTree, modelBytes, mulberry32, node, raw, vi } from './testkit';
import { reprToFloat, writeOnnx } from './write';

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

interface Case {
  opset: number;
  fp16: boolean;
  repr: Compressed;
}

function pick<T>(r: () => number, xs: T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function makeCase(seed: number): Case {
  const r = mulberry32(seed);
  const rank = 1 + Math.floor(r() * 4);
  const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * 6));
  const n = prod(shape);
  const opset = pick(r, [7, 13, 21]);
  const fp16 = r() < 0.3;
  if (r() < 0.5) {
    const qdtype = pick(r, ['int8', 'uint8', 'int4', 'uint4'] as const);
    const scaleShape = shape.map((s) => pick(r, divisors(s)));
    const [lo, hi] = { int8: [-128, 127], uint8: [0, 255], int4: [-8, 7], uint4: [0, 15] }[qdtype];
    const signed = lo < 0;
    const data = signed ? new Int8Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = lo + Math.floor(r() * (hi - lo + 1));
    const m = prod(scaleShape);
    const scale = Float32Array.from({ length: m }, () => (fp16 ? roundF16 : Math.fround)(0.001 + r() * 0.1));
    let offset: Int8Array | Uint8Array | undefined;
    if (r() < 0.5) {
      offset = signed ? new Int8Array(m) : new Uint8Array(m);
      for (let i = 0; i < m; i++) offset[i] = lo + Math.floor(r() * (hi - lo + 1));
    }
    const repr: AffineRepr = { kind: 'affine', dtype: fp16 ? 'fp16' : 'fp32', qdtype, shape, data, scale, scaleShape, offset };
    return { opset, fp16, repr };
  }
  const nbits = pick(r, [1, 2, 3, 4, 6, 8]);
  const L = 2 ** nbits;
  let V = 1;
  let vectorAxis: number | undefined;
  const cand = shape.map((s, d) => d).filter((d) => shape[d] % 2 === 0);
  if (cand.length && r() < 0.4) {
    V = 2;
    vectorAxis = pick(r, cand);
  }
  const groups = shape.map((s, d) => {
    const per = d === vectorAxis ? s / V : s;
    return pick(r, divisors(per));
  });
  const indicesShape = shape.map((s, d) => (d === vectorAxis ? s / V : s));
  const ni = prod(indicesShape);
  const indices = Uint8Array.from({ length: ni }, () => Math.floor(r() * L));
  const G = prod(groups);
  const lut = Float32Array.from({ length: G * L * V }, () => Math.fround(r() * 2 - 1));
  const repr: LutRepr = { kind: 'lut', dtype: fp16 ? 'fp16' : 'fp32', nbits, shape, indices, indicesShape, lut, lutShape: [...groups, L, V], ...(vectorAxis !== undefined ? { vectorAxis } : {}) };
  if (fp16) for (let i = 0; i < lut.length; i++) lut[i] = roundF16(lut[i]); // values representable in the dtype
  return { opset, fp16, repr };
}

async function check(c: Case): Promise<void> {
  const shape = c.repr.shape;
  const dt = c.fp16 ? DT.FLOAT16 : DT.FLOAT;
  const init = c.fp16 ? new Uint16Array(prod(shape)) : new Float32Array(prod(shape));
  const bytes = modelBytes({ name: 'g', node: [node('Identity', ['W'], ['y'])], output: [vi('y', dt, shape)], initializer: [raw('W', dt, shape, init)] }, c.opset, c.opset >= 21 ? 10 : 7);
  const m = await loadTree(memoryTree('t', { 'm.onnx': bytes }), 'm.onnx');
  const w = m.weights[0];
  const res: WeightResult = { id: w.id, status: 'compressed', repr: c.repr, label: 'p', bytesBefore: 0, bytesAfter: 0, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 0 };
  const out = await outputBytes((await writeOnnx(m, new Map([[w.id, res]]), { plan: globalPlan(linearQuantizerConfig()) })).files[0]);
  const want = Array.from(reprToFloat(c.repr));
  for (const level of ['disabled', 'all'] as const) {
    const s = await ort.InferenceSession.create(out, { logSeverityLevel: 3, graphOptimizationLevel: level });
    const y = (await s.run({})).y;
    const got = c.fp16 ? Array.from(y.data as Uint16Array, (h) => fromF16(h)) : Array.from(y.data as Float32Array);
    expect(got, `graph optimization ${level}`).toEqual(want);
  }
  const back = await loadTree(memoryTree('o', { 'o.onnx': out }), 'o.onnx');
  expect(Array.from(await back.readFloat32(back.weights[0].id))).toEqual(want);
}

function fromF16(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const f = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

describe('random representations round-trip exactly through onnxruntime', () => {
  it('affine and LUT, rank 1-4, opsets 7/13/21, fp32 and fp16 weights', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), async (seed) => {
        const c = makeCase(seed);
        try {
          await check(c);
        } catch (e) {
          throw new Error(`seed ${seed} opset ${c.opset} fp16 ${c.fp16} ${c.repr.kind} shape [${c.repr.shape}] ${'scaleShape' in c.repr ? `scale [${c.repr.scaleShape}] ${c.repr.qdtype} offset ${!!c.repr.offset}` : `lut [${(c.repr as LutRepr).lutShape}] axis ${(c.repr as LutRepr).vectorAxis}`}: ${(e as Error).message.slice(0, 300)}`);
        }
      }),
      { numRuns: 150 },
    );
  });
});
