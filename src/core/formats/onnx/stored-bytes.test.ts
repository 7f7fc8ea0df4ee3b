/**
 * The bytes the engine reports for an ONNX weight are what the ONNX writer stores: for every real ONNX fixture
 * and every mode, each weight's bytesAfter (compressed) or its original bytes (skipped) equals the bytes the
 * reader reports for that weight in the written file. The same check runs on copies of one model declaring
 * opset 21 / IR 10 (native UINT4/INT4 and blocked DequantizeLinear) and opset 9 / IR 3 (Cast/Sub/Mul, no
 * sparse_initializer), and for fp16 storage built by hand.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../../tests/fixtures';
import { fileWithSiblings } from '../../../node/fs-tree';
import type { OpConfig, WeightResult } from '../../compress/types';
import { runPlan } from '../../engine';
import { memoryTree } from '../../io/source';
import { outputBytes, type LoadedModel } from '../../model/types';
import { globalPlan, linearQuantizerConfig, magnitudePrunerConfig, palettizerConfig } from '../../plan';
import { roundF16 } from '../../tensor/fp16';
import { DT } from './dtypes';
import { onnxStoredBytes } from './emit-weight';
import { onnxType, type ModelP } from './schema';
import { loadTree } from './testkit';
import { writeOnnx } from './write';

const DIR = fixture('real', 'onnx');
const MODELS = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).sort();

const MODES: Record<string, OpConfig> = {
  'int8 per-channel': linearQuantizerConfig({ dtype: 'int8', granularity: 'per_channel' }),
  'int4 block 32': linearQuantizerConfig({ dtype: 'int4', granularity: 'per_block', block_size: 32 }),
  'pal 8-bit': palettizerConfig({ mode: 'kmeans', nbits: 8 }),
  'pal 4-bit': palettizerConfig({ mode: 'kmeans', nbits: 4 }),
  'pal 6-bit grouped 2': palettizerConfig({ mode: 'uniform', nbits: 6, granularity: 'per_grouped_channel', group_size: 2 }),
  'prune 75%': magnitudePrunerConfig({ target_sparsity: 0.75 }),
  'prune 30%': magnitudePrunerConfig({ target_sparsity: 0.3 }),
};

/** Writes `results`, reads the file back and compares every weight's bytes with what the results report. */
async function checkBytes(model: LoadedModel, results: Map<string, WeightResult>, cfg: OpConfig): Promise<{ compressed: number; before: number; after: number }> {
  const out = await writeOnnx(model, results, { plan: globalPlan(cfg), tag: 't' });
  expect(out.files.length).toBe(1);
  const bytes = await outputBytes(out.files[0]);
  const back = await loadTree(memoryTree('o', { 'o.onnx': bytes }), 'o.onnx');
  const byName = new Map(back.weights.map((w) => [`${w.scope}|${w.name}`, w]));
  let compressed = 0;
  let after = 0;
  let before = 0;
  for (const w of model.weights) {
    const r = results.get(w.id);
    const expected = r && r.status === 'compressed' ? r.bytesAfter : w.bytes;
    if (r?.status === 'compressed') compressed++;
    const w2 = byName.get(`${w.scope}|${w.name}`);
    expect(w2, `${w.name} missing from the written model`).toBeDefined();
    expect({ name: w.name, bytes: w2!.bytes }).toEqual({ name: w.name, bytes: expected });
    before += w.bytes;
    after += expected;
  }
  // nothing else holds weight bytes in the written file
  expect(back.weights.reduce((a, w) => a + w.bytes, 0)).toBe(after);
  return { compressed, before, after };
}

async function load(file: string): Promise<LoadedModel> {
  return loadTree(fileWithSiblings(`${DIR}/${file}`), file);
}

/** The fixture re-encoded declaring another default-domain opset and IR version (not run, only written). */
async function withOpset(file: string, opset: number, ir: number): Promise<LoadedModel> {
  const T = onnxType('ModelProto');
  const m = T.decode(readFileSync(`${DIR}/${file}`)) as unknown as ModelP & Record<string, unknown>;
  const obj = T.toObject(m as never, { defaults: false }) as Record<string, unknown>;
  obj.ir_version = ir;
  obj.opset_import = [{ domain: '', version: opset }];
  const bytes = T.encode(T.fromObject(obj)).finish();
  return loadTree(memoryTree('m', { 'm.onnx': bytes }), 'm.onnx');
}

describe('ONNX bytesAfter equals the bytes stored in the written file', () => {
  for (const file of MODELS) {
    it(file, async () => {
      const model = await load(file);
      const lines: string[] = [];
      for (const [mode, cfg] of Object.entries(MODES)) {
        const results = await runPlan(model, globalPlan(cfg));
        const s = await checkBytes(model, results, cfg);
        expect(s.compressed, `${file} ${mode}: nothing compressed`).toBeGreaterThan(0);
        lines.push(`${mode}: ${s.compressed} weights, ${s.before} → ${s.after} bytes`);
      }
      console.log(`${file}\n  ${lines.join('\n  ')}`);
    }, 300_000);
  }

  for (const [opset, ir] of [
    [21, 10],
    [9, 3],
  ]) {
    it(`CIFAR10 declaring opset ${opset} / IR ${ir}`, async () => {
      const model = await withOpset('CIFAR10_ImageClassifier.onnx', opset, ir);
      for (const cfg of Object.values(MODES)) {
        const results = await runPlan(model, globalPlan(cfg));
        const s = await checkBytes(model, results, cfg);
        expect(s.compressed).toBeGreaterThan(0);
      }
    }, 120_000);
  }

  it('a representation with no form in the model\'s opset is skipped with the writer\'s reason (opset 6)', async () => {
    const model = await withOpset('CIFAR10_ImageClassifier.onnx', 6, 3);
    const results = await runPlan(model, globalPlan(MODES['pal 4-bit']));
    const attempted = [...results.values()].filter((r) => r.reason?.includes('needs ONNX opset 7'));
    expect(attempted.length).toBe(4);
    for (const r of attempted) expect(r.status).toBe('skipped');
    // nothing left for the writer to refuse: the model is written with its weights as they were
    const s = await checkBytes(model, results, MODES['pal 4-bit']);
    expect(s.compressed).toBe(0);
  });

  it('fp16 storage of fp32 weights (FLOAT16 initializer + Cast)', async () => {
    const model = await load('CIFAR10_ImageClassifier.onnx');
    const results = new Map<string, WeightResult>();
    for (const w of model.weights) {
      if (w.dtype !== 'fp32' || w.shape.length < 2) continue;
      const values = Float32Array.from(await model.readFloat32(w.id), roundF16);
      const repr = { kind: 'dense' as const, dtype: 'fp16' as const, shape: w.shape, values };
      const bytesAfter = onnxStoredBytes(repr, w.count, { opset: 13, ir: 7, outDt: DT.FLOAT, inSubgraph: false });
      expect(bytesAfter).toBe(w.count * 2);
      results.set(w.id, { id: w.id, status: 'compressed', repr, label: 'fp16', bytesBefore: w.bytes, bytesAfter, mse: 0, snrDb: Infinity, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 16 });
    }
    expect(results.size).toBeGreaterThan(0);
    await checkBytes(model, results, linearQuantizerConfig());
  });
});
