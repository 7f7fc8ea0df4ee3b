/**
 * Writer tests on the real ONNX fixtures: every model × {int8 per-channel, int4 block 32, 8-bit and 4-bit
 * palettization} is compressed with the engine, written, loaded in onnxruntime-node and run on the same random
 * inputs as the original. Output SNR is reported; 8-bit modes must reach 25 dB. Independently of the
 * compression error, the written chains must compute exactly the decompressed weights: the compressed model is
 * compared with a model holding those values as plain initializers.
 */
import * as ort from 'onnxruntime-node';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../../tests/fixtures';
import { fileWithSiblings } from '../../../node/fs-tree';
import type { OpConfig, WeightResult } from '../../compress/types';
import { runPlan } from '../../engine';
import { memoryTree } from '../../io/source';
import { outputBytes, type LoadedModel } from '../../model/types';
import { globalPlan, linearQuantizerConfig, magnitudePrunerConfig, palettizerConfig } from '../../plan';
import { f32ArrayToF16 } from '../../tensor/fp16';
import { DT } from './dtypes';
import { onnxType, num, type GraphP, type ModelP } from './schema';
import { asFloats, denseEquivalent, loadTree, mulberry32, snrDb } from './testkit';
import { reprToFloat, writeOnnx } from './write';
import { kmeans1d } from '../../compress/palettize/kmeans1d';

const DIR = fixture('real', 'onnx');
const MODELS = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).sort();

/** values for named dynamic dims, and fixed values for integer inputs */
const DIMS: Record<string, number> = { batch_size: 2, batch: 1, sequence: 512, 'p2o.DynamicDimension.0': 1, 'p2o.DynamicDimension.1': 320 };
const INT_INPUTS: Record<string, bigint> = { sr: 16000n };

const MODES: Record<string, OpConfig> = {
  'int8 per-channel': linearQuantizerConfig({ dtype: 'int8', granularity: 'per_channel' }),
  'int4 block 32': linearQuantizerConfig({ dtype: 'int4', granularity: 'per_block', block_size: 32 }),
  'pal 8-bit kmeans': palettizerConfig({ mode: 'kmeans', nbits: 8 }),
  'pal 4-bit kmeans': palettizerConfig({ mode: 'kmeans', nbits: 4 }),
};
const EIGHT_BIT = new Set(['int8 per-channel', 'pal 8-bit kmeans']);

type Feeds = Record<string, ort.Tensor>;

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
}

/**
 * Random inputs: image-shaped (rank-4) float inputs get smooth random images (a few random low-frequency
 * sinusoids over the spatial axes, in [-1, 1], like real photos after normalisation) or, with `noise`, white
 * noise; other float inputs (audio, states) get uniform noise in [-1, 1]; int64 inputs fixed values.
 */
function makeFeeds(s: ort.InferenceSession, seed: number, noise = false): Feeds {
  const rnd = mulberry32(seed);
  const feeds: Feeds = {};
  for (const m of s.inputMetadata) {
    if (!m.isTensor) throw new Error(`input ${m.name} is not a tensor`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : DIMS[String(d)] ?? 1));
    const n = dims.reduce((a, b) => a * b, 1);
    if (m.type === 'int64') {
      feeds[m.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(INT_INPUTS[m.name] ?? 1n), dims);
      continue;
    }
    const a = new Float32Array(n);
    if (dims.length === 4 && !noise) {
      const nhwc = dims[3] <= 4 && dims[1] > 4;
      const [H, W] = nhwc ? [dims[1], dims[2]] : [dims[2], dims[3]];
      const C = nhwc ? dims[3] : dims[1];
      const waves = Array.from({ length: 3 * C }, () => [rnd() * 0.3, rnd() * 0.3, rnd() * 6.3, rnd() * 0.5]);
      for (let b = 0; b < dims[0]; b++)
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++) {
              let v = 0;
              for (let k = 0; k < 3; k++) {
                const [fy, fx, ph, amp] = waves[c * 3 + k];
                v += amp * Math.sin(fy * y + fx * x + ph + b);
              }
              const i = nhwc ? ((b * H + y) * W + x) * C + c : ((b * C + c) * H + y) * W + x;
              a[i] = Math.max(-1, Math.min(1, v));
            }
    } else for (let i = 0; i < n; i++) a[i] = rnd() * 2 - 1;
    if (m.type === 'float16') feeds[m.name] = new ort.Tensor('float16', f32ArrayToF16(a), dims);
    else if (m.type === 'float32') feeds[m.name] = new ort.Tensor('float32', a, dims);
    else throw new Error(`input ${m.name}: type ${m.type} not handled`);
  }
  return feeds;
}

async function run(s: ort.InferenceSession, feeds: Feeds): Promise<Float32Array> {
  const out = await s.run(feeds);
  const parts = s.outputNames.map((n) => asFloats(out[n].data, out[n].type));
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

async function load(file: string): Promise<LoadedModel> {
  return loadTree(fileWithSiblings(`${DIR}/${file}`), file);
}

async function write(model: LoadedModel, results: Map<string, WeightResult>, tag: string): Promise<Uint8Array> {
  const w = await writeOnnx(model, results, { plan: globalPlan(MODES['int8 per-channel']), tag });
  expect(w.files).toHaveLength(1);
  return outputBytes(w.files[0]);
}

// Minimum default-domain opset of each op the writer emits (formats.md §8.4, §8.7; Operators changelog).
const MIN_OPSET: Record<string, number> = {
  Cast: 6, Gather: 1, Floor: 6, Mul: 7, Sub: 7, Add: 7, Concat: 4, Reshape: 5, Transpose: 1, Identity: 1, DequantizeLinear: 10,
};

function* graphsOf(g: GraphP): Generator<GraphP> {
  yield g;
  for (const n of g.node ?? []) for (const a of n.attribute ?? []) {
    if (a.g) yield* graphsOf(a.g);
    for (const x of a.graphs ?? []) yield* graphsOf(x);
  }
}

/** Every op and type the writer added is defined by the declared opset / IR. */
function checkLegal(orig: ModelP, out: ModelP): string[] {
  const problems: string[] = [];
  const opset = num(out.opset_import!.find((o) => !o.domain || o.domain === 'ai.onnx')!.version);
  const ir = num(out.ir_version);
  expect(opset).toBe(num(orig.opset_import!.find((o) => !o.domain || o.domain === 'ai.onnx')!.version));
  expect(ir).toBe(num(orig.ir_version));
  const before = new Set<string>();
  for (const g of graphsOf(orig.graph!)) for (const n of g.node ?? []) before.add(n.name ?? '');
  for (const g of graphsOf(out.graph!)) {
    for (const n of g.node ?? []) {
      if (before.has(n.name ?? '')) continue;
      const min = MIN_OPSET[n.op_type ?? ''];
      if (min === undefined) problems.push(`unexpected op ${n.op_type}`);
      else if (opset < min) problems.push(`${n.op_type} needs opset ${min}, model has ${opset}`);
      const attrs = new Set((n.attribute ?? []).map((a) => a.name));
      if (n.op_type === 'DequantizeLinear' && attrs.has('axis') && opset < 13) problems.push('DequantizeLinear axis needs opset 13');
      if (n.op_type === 'DequantizeLinear' && attrs.has('block_size') && opset < 21) problems.push('DequantizeLinear block_size needs opset 21');
    }
    for (const t of g.initializer ?? []) {
      if ((t.data_type === DT.INT4 || t.data_type === DT.UINT4) && (ir < 10 || opset < 21)) problems.push(`${t.name}: int4/uint4 needs IR 10 and opset 21`);
      if (t.data_type === DT.BFLOAT16 && ir < 4) problems.push(`${t.name}: bf16 needs IR 4`);
    }
    if ((g.sparse_initializer ?? []).length && ir < 6) problems.push('sparse_initializer needs IR 6');
  }
  return problems;
}

/**
 * PPOCRv4 misses 25 dB with coremltools-equivalent 8-bit weights: its last backbone 1x1 convolutions (max |w| 15-29,
 * heavy tails) dominate the loss; an independent per-channel int8 quantizer gives the same 22 dB, and exact k-means
 * 23 dB (investigation in scripts/ppocr-snr.ts). For it, the 8-bit results are checked against independent
 * references instead of a fixed output SNR; the gap to 25 dB is reported, not hidden.
 */
const BELOW_25_DB = new Set(['PPOCRv4_rec_SVTR.onnx']);

const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Independent reference: coremltools' linear_symmetric int8 per output channel (Conv axis 0, MatMul B last axis). */
function referenceInt8(w: LoadedModel['weights'][number], v: Float32Array): Float32Array {
  const axis = w.consumers[0]?.type === 'MatMul' ? w.shape.length - 1 : 0;
  const C = w.shape[axis];
  const inner = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Float64Array(C);
  for (let i = 0; i < v.length; i++) {
    const c = Math.floor(i / inner) % C;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(v[i]));
  }
  const scale = Float32Array.from(maxAbs, (m) => m / 127);
  return v.map((x, i) => {
    const sc = scale[Math.floor(i / inner) % C];
    return sc === 0 ? 0 : Math.fround(Math.max(-127, Math.min(127, roundHalfEven(Math.fround(x / sc)))) * sc);
  });
}

/** Exact optimal 1-D k-means SSE over the weight's distinct values (the engine bins above 65,536 of them). */
function exactKmeansSse(v: Float32Array, k: number): number {
  const sorted = Float64Array.from(v).sort();
  const xs: number[] = [];
  const ws: number[] = [];
  for (const x of sorted) {
    if (xs.length && xs[xs.length - 1] === x) ws[ws.length - 1]++;
    else {
      xs.push(x);
      ws.push(1);
    }
  }
  return kmeans1d(Float64Array.from(xs), Float64Array.from(ws), k).cost;
}

const table: string[] = [];
const explained: string[] = [];
afterAll(() => {
  if (explained.length) console.log(['', '8-bit results below 25 dB (checked against independent references instead):', ...explained].join('\n'));
  console.log(['', 'model | mode | compressed/float weights | file bytes before → after | output SNR dB (smooth inputs) | output SNR dB (white-noise inputs) | chain vs dense SNR dB', ...table].join('\n'));
});

describe.each(MODELS)('%s', (file) => {
  it('round trips losslessly when nothing is compressed (same bytes)', async () => {
    const m = await load(file);
    const bytes = await write(m, new Map(), 'same');
    expect(Buffer.compare(Buffer.from(bytes), readFileSync(`${DIR}/${file}`))).toBe(0);
  });

  it.each(Object.keys(MODES))('%s: runs in onnxruntime, output SNR reported', { timeout: 600_000 }, async (mode) => {
    const m = await load(file);
    const orig = readFileSync(`${DIR}/${file}`);
    const results = await runPlan(m, globalPlan(MODES[mode], 'iOS18'));
    const done = [...results.values()].filter((r) => r.status === 'compressed');
    expect(done.length).toBeGreaterThan(0);
    // silero keeps its LSTM weights inside If branches: they are compressed like any other
    if (file.startsWith('silero')) expect(done.filter((r) => /If_\d+\.(then|else)_branch/.test(r.id)).length).toBeGreaterThan(0);
    const bytes = await write(m, results, 'c');
    const ref = await session(orig);
    const feeds = makeFeeds(ref, 7);
    const y0 = await run(ref, feeds);
    const y1 = await run(await session(bytes), feeds);
    expect(y1.every(Number.isFinite)).toBe(true);
    const snr = snrDb(y0, y1);
    const noiseFeeds = makeFeeds(ref, 7, true);
    const snrNoise = snrDb(await run(ref, noiseFeeds), await run(await session(bytes), noiseFeeds));
    // the chains compute exactly the decompressed weights
    const dense = await write(m, denseEquivalent(m, results), 'd');
    const y2 = await run(await session(dense), feeds);
    const chainSnr = snrDb(y2, y1);
    const floats = m.weights.filter((w) => w.dtype === 'fp32' || w.dtype === 'fp16').length;
    table.push(`${file} | ${mode} | ${done.length}/${floats} | ${orig.length} → ${bytes.length} | ${snr.toFixed(1)} | ${snrNoise.toFixed(1)} | ${chainSnr === Infinity ? 'identical' : chainSnr.toFixed(1)}`);
    expect(chainSnr).toBeGreaterThan(60);
    if (EIGHT_BIT.has(mode) && !BELOW_25_DB.has(file)) expect(snr).toBeGreaterThanOrEqual(25);
    if (EIGHT_BIT.has(mode) && BELOW_25_DB.has(file)) {
      const originals = await Promise.all(done.map((r) => m.readFloat32(r.id)));
      if (mode === 'int8 per-channel') {
        // every weight equals the independent reference quantizer, and so does the model's output
        const ref = new Map<string, WeightResult>();
        done.forEach((r, k) => {
          const w = m.weights.find((x) => x.id === r.id)!;
          const want = referenceInt8(w, originals[k]);
          expect(snrDb(want, reprToFloat(r.repr!)), w.name).toBeGreaterThan(60);
          ref.set(r.id, { ...r, repr: { kind: 'dense', dtype: 'fp32', shape: w.shape, values: want } });
        });
        const snrRef = snrDb(y0, await run(await session(await write(m, ref, 'r')), feeds));
        expect(snr).toBeGreaterThanOrEqual(snrRef - 0.5);
        explained.push(`${file} | ${mode}: ${snr.toFixed(1)} dB; independent reference int8 weights give ${snrRef.toFixed(1)} dB`);
      } else {
        // k-means error per weight no worse than the exact optimum over all distinct values
        done.forEach((r, k) => {
          const sse = r.mse * originals[k].length;
          expect(sse, r.id).toBeLessThanOrEqual(exactKmeansSse(originals[k], 256) * (1 + 1e-4) + 1e-12);
        });
        explained.push(`${file} | ${mode}: ${snr.toFixed(1)} dB; every weight's k-means error within 1e-4 of the exact optimum`);
      }
    }

    const outModel = onnxType('ModelProto').decode(bytes) as unknown as ModelP;
    expect(checkLegal(onnxType('ModelProto').decode(orig) as unknown as ModelP, outModel)).toEqual([]);

    // read back: compressed weights show as compressed, with the values the engine produced
    const back = await loadTree(memoryTree('out', { 'out.onnx': bytes }), 'out.onnx');
    const byName = new Map(back.weights.map((w) => [`${w.scope}/${w.name}`, w]));
    for (const w of m.weights) {
      const r = results.get(w.id);
      const b = byName.get(`${w.scope}/${w.name}`);
      expect(b, w.name).toBeDefined();
      expect(b!.shape).toEqual(w.shape);
      const v = await back.readFloat32(b!.id);
      if (r?.status === 'compressed') {
        expect(b!.compression?.kind).toBe(mode.startsWith('pal') ? 'palettized' : 'quantized');
        const want = reprToFloat(r.repr!);
        expect(snrDb(want, v)).toBe(Infinity);
        const rep = await back.readRepr(b!.id);
        expect(rep.kind).toBe(r.repr!.kind);
      } else if (w.dtype !== 'string') {
        expect(b!.compression).toBeUndefined();
        expect(Buffer.compare(Buffer.from(v.buffer, v.byteOffset, v.byteLength), Buffer.from((await m.readFloat32(w.id)).buffer))).toBe(0);
      }
    }
  });
});

describe('fp16 conversion and pruning', () => {
  it('stores fp32 weights as fp16 with a Cast back to float', async () => {
    const file = 'CIFAR10_ImageClassifier.onnx';
    const m = await load(file);
    const results = new Map<string, WeightResult>();
    for (const w of m.weights.filter((x) => x.dtype === 'fp32')) {
      const values = await m.readFloat32(w.id);
      results.set(w.id, { id: w.id, status: 'compressed', repr: { kind: 'dense', dtype: 'fp16', shape: w.shape, values }, label: 'fp16', bytesBefore: w.bytes, bytesAfter: w.bytes / 2, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 16 });
    }
    const bytes = await write(m, results, 'fp16');
    const orig = readFileSync(`${DIR}/${file}`);
    expect(bytes.length).toBeLessThan(orig.length * 0.55);
    const ref = await session(orig);
    const feeds = makeFeeds(ref, 3);
    const snr = snrDb(await run(ref, feeds), await run(await session(bytes), feeds));
    expect(snr).toBeGreaterThan(50);
    const back = await loadTree(memoryTree('o', { 'o.onnx': bytes }), 'o.onnx');
    const w0 = back.weights.find((w) => w.name === m.weights.find((x) => x.dtype === 'fp32')!.name)!;
    expect(w0.compression?.kind).toBe('fp16');
    expect(w0.dtype).toBe('fp32');
  });

  it('writes a 90%-pruned weight as a sparse_initializer and a 50%-pruned one dense, saying which', async () => {
    const file = 'CIFAR10_ImageClassifier.onnx';
    const m = await load(file);
    for (const [sparsity, sparse] of [[0.9, true], [0.5, false]] as const) {
      const results = await runPlan(m, globalPlan(magnitudePrunerConfig({ target_sparsity: sparsity }), 'iOS18'));
      const w = await writeOnnx(m, results, { plan: globalPlan(magnitudePrunerConfig({ target_sparsity: sparsity })), tag: 'prune' });
      const bytes = await outputBytes(w.files[0]);
      const dec = onnxType('ModelProto').decode(bytes) as unknown as ModelP;
      const nCompressed = [...results.values()].filter((r) => r.status === 'compressed').length;
      expect(nCompressed).toBeGreaterThan(0);
      expect((dec.graph!.sparse_initializer ?? []).length).toBe(sparse ? nCompressed : 0);
      expect(w.notes?.length).toBe(nCompressed);
      expect(w.notes!.every((n) => (sparse ? /sparse_initializer/.test(n) : /written dense/.test(n)))).toBe(true);
      const ref = await session(readFileSync(`${DIR}/${file}`));
      const feeds = makeFeeds(ref, 5);
      const dense = await write(m, denseEquivalent(m, results), 'd');
      expect(snrDb(await run(await session(dense), feeds), await run(await session(bytes), feeds))).toBeGreaterThan(60);
      if (sparse) {
        expect(bytes.length).toBeLessThan(readFileSync(`${DIR}/${file}`).length * 0.5);
        const back = await loadTree(memoryTree('o', { 'o.onnx': bytes }), 'o.onnx');
        expect(back.weights.filter((x) => x.compression?.kind === 'sparse')).toHaveLength(nCompressed);
      }
    }
  });
});
