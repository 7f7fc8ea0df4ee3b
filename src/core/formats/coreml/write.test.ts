import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture, readJson } from '../../../../tests/fixtures';
import type { CompressionPlan, WeightResult } from '../../compress/types';
import { outputBytes, type LoadedModel } from '../../model/types';
import { compareToGolden, opSequence, sha256f32, storageDiffs, type GoldenWeight } from '../../../../tests/coreml/golden';
import { loadPath, reload, writtenTree } from '../../../../tests/coreml/util';
import { writeCoreML } from './write';

const plan = (target: CompressionPlan['target']): { plan: CompressionPlan } => ({ plan: { target, steps: [] } });

function result(id: string, repr: WeightResult['repr']): WeightResult {
  return { id, status: 'compressed', repr, label: 'test', bytesBefore: 0, bytesAfter: 0, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 0 };
}

async function sameValues(a: LoadedModel, b: LoadedModel): Promise<string[]> {
  const d: string[] = [];
  expect(b.weights.map((w) => w.id).sort()).toEqual(a.weights.map((w) => w.id).sort());
  for (const w of a.weights) {
    const w2 = b.weights.find((x) => x.id === w.id)!;
    if (JSON.stringify([w.name, w.opType, w.shape, w.dtype, w.bytes, w.compression]) !== JSON.stringify([w2.name, w2.opType, w2.shape, w2.dtype, w2.bytes, w2.compression])) {
      d.push(`${w.id}: description differs`);
    }
    if (sha256f32(await a.readFloat32(w.id)) !== sha256f32(await b.readFloat32(w.id))) d.push(`${w.id}: values differ`);
  }
  return d;
}

describe('uncompressed round trip (load → write with no results → load) is lossless', () => {
  const goldenPkgs = readdirSync(fixture('golden')).flatMap((d) =>
    existsSync(fixture('golden', d, 'base.json'))
      ? readdirSync(fixture('golden', d)).filter((f) => f.endsWith('.mlpackage') || f.endsWith('.mlmodel')).map((f) => `golden/${d}/${f}`)
      : [],
  );
  const inputs = [
    'synthetic/base_ios16.mlpackage',
    'synthetic/base_ios18.mlpackage',
    'synthetic/base_nn.mlmodel',
    'real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage',
    'real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage',
    'real/coreml/MNIST_CNN.mlmodel',
    ...goldenPkgs,
  ];
  it('covers every golden model file (29 packages, 12 .mlmodel)', () => expect(goldenPkgs.length).toBe(41));
  for (const p of inputs) {
    it(p, async () => {
      const a = await loadPath(fixture(p));
      const w = await writeCoreML(a, new Map(), plan('iOS16'));
      expect(w.name).toMatch(/\.compressed\.(mlpackage|mlmodel)$/);
      const b = await reload(w);
      expect(b.summary.specificationVersion).toBe(a.summary.specificationVersion);
      expect(b.summary.opsets).toEqual(a.summary.opsets);
      expect(b.summary.modelType).toBe(a.summary.modelType);
      if (a.summary.format === 'mlpackage') expect(opSequence(b)).toEqual(opSequence(a));
      expect(await sameValues(a, b)).toEqual([]);
    });
  }

  it('rewrites coremltools output byte for byte when nothing changes (base_ios16)', async () => {
    const a = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const t = await writtenTree(await writeCoreML(a, new Map(), plan('iOS16')));
    for (const f of ['Data/com.apple.CoreML/weights/weight.bin', 'Data/com.apple.CoreML/model.mlmodel', 'Manifest.json']) {
      const orig = new Uint8Array(readFileSync(fixture('synthetic/base_ios16.mlpackage', f)));
      const src = t.get(f)!;
      expect(Buffer.from(await src.read(0, src.size)).equals(Buffer.from(orig))).toBe(true);
    }
  });
});

interface GoldenJson {
  specification_version: number;
  opsets?: string[];
  weights: GoldenWeight[];
}

describe('writer checked independently of the kernels: golden reprs written onto the base model', () => {
  const cfg = readJson<{ models: Record<string, { kind: string; input: string; configs: string[] }> }>('golden', 'configs.json');
  const cases = Object.entries(cfg.models)
    .filter(([, m]) => m.kind === 'mlprogram')
    .flatMap(([name, m]) => m.configs.filter((c) => existsSync(fixture('golden', name, `${c}.mlpackage`))).map((c) => [name, m.input, c] as const));
  it('covers every mlprogram config coremltools completed', () => expect(cases.length).toBe(29));

  for (const [name, input, c] of cases) {
    it(`${name} / ${c}`, async () => {
      const base = await loadPath(fixture(input));
      const gold = await loadPath(fixture('golden', name, `${c}.mlpackage`));
      const gj = readJson<GoldenJson>('golden', name, `${c}.json`);
      const results = new Map<string, WeightResult>();
      for (const w of gold.weights) {
        if (!w.compression) continue;
        const bw = base.weights.find((x) => x.name === w.baseName)!;
        results.set(bw.id, result(bw.id, await gold.readRepr(w.id)));
      }
      const target = gj.specification_version >= 9 ? 'iOS18' : 'iOS16';
      const out = await writeCoreML(base, results, { ...plan(target), tag: c });
      expect(out.name).toBe(`${input.split('/').pop()!.replace('.mlpackage', '')}.${c}.mlpackage`);
      const mine = await reload(out);
      // same specificationVersion and opset
      expect(mine.summary.specificationVersion).toBe(gj.specification_version);
      expect(mine.summary.opsets).toEqual(gj.opsets);
      // same op types in the same places, same consumers
      expect(opSequence(mine)).toEqual(opSequence(gold));
      for (const w of gold.weights) expect(mine.weights.find((x) => x.name === w.name)?.consumers).toEqual(w.consumers);
      // names, chains, shapes, dtypes and the decompressed values (sha256) of the golden JSON
      expect(await compareToGolden(mine, gj)).toEqual([]);
      // same dtype and shape for every stored input
      const diffs: string[] = [];
      for (const gw of gj.weights) diffs.push(...storageDiffs(mine, mine.weights.find((x) => x.name === gw.name)!.id, gw));
      expect(diffs).toEqual([]);
    });
  }
});

describe('writer: targets, spec and opset', () => {
  it('raises an iOS16 model to spec 9 / CoreML8 for an iOS18-only representation, and never lowers', async () => {
    const base = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const gold = await loadPath(fixture('golden/base_ios18/q-int4-sym-block32.mlpackage'));
    const g = gold.weights.find((w) => w.baseName === 'linear1_weight_to_fp16')!;
    const bw = base.weights.find((w) => w.name === 'linear1_weight_to_fp16')!;
    const out = await reload(await writeCoreML(base, new Map([[bw.id, result(bw.id, await gold.readRepr(g.id))]]), plan('iOS16')));
    expect(out.summary.specificationVersion).toBe(9);
    expect(out.summary.opsets).toEqual(['CoreML8']);
    const w = out.weights.find((x) => x.baseName === 'linear1_weight_to_fp16')!;
    expect(w.opType).toBe('constexpr_blockwise_shift_scale');
    expect(sha256f32(await out.readFloat32(w.id))).toBe(sha256f32(await gold.readFloat32(g.id)));

    // iOS16 form requested on an iOS18 model: the op is the iOS16 one, the spec stays 9
    const b18 = await loadPath(fixture('synthetic/base_ios18.mlpackage'));
    const g16 = await loadPath(fixture('golden/base_ios16/pal-kmeans-4-tensor.mlpackage'));
    const gw = g16.weights.find((x) => x.baseName === 'linear1_weight_to_fp16')!;
    const bw18 = b18.weights.find((x) => x.name === 'linear1_weight_to_fp16')!;
    const o2 = await reload(await writeCoreML(b18, new Map([[bw18.id, result(bw18.id, await g16.readRepr(gw.id))]]), plan('iOS16')));
    expect(o2.summary.specificationVersion).toBe(9);
    expect(o2.summary.opsets).toEqual(['CoreML8']);
    expect(o2.weights.find((x) => x.baseName === 'linear1_weight_to_fp16')!.compression?.opChain).toEqual(['constexpr_lut_to_dense']);
  });

  it('writes an iOS16 LUT as the iOS18 op for an iOS18 target, with the same values', async () => {
    const base = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const g16 = await loadPath(fixture('golden/base_ios16/pal-kmeans-2-tensor.mlpackage'));
    const results = new Map<string, WeightResult>();
    for (const w of g16.weights.filter((x) => x.compression)) {
      const bw = base.weights.find((x) => x.name === w.baseName)!;
      results.set(bw.id, result(bw.id, await g16.readRepr(w.id)));
    }
    const out = await reload(await writeCoreML(base, results, plan('iOS18')));
    expect(out.summary.specificationVersion).toBe(9);
    for (const w of g16.weights.filter((x) => x.compression)) {
      const m = out.weights.find((x) => x.name === w.name)!;
      const st = (out.internal as { entries: Map<string, { w: { chain: { params: Record<string, { value?: { dtype: string } }> }[] } }> }).entries.get(m.id)!;
      expect(st.w.chain[0].params.indices.value!.dtype).toBe('uint2');
      expect(sha256f32(await out.readFloat32(m.id))).toBe(sha256f32(await g16.readFloat32(w.id)));
    }
  });

  it('stores a dense result as a const with the original name, values rounded to its dtype', async () => {
    const base = await loadPath(fixture('synthetic/base_ios18.mlpackage'));
    const bw = base.weights.find((x) => x.name === 'linear2_weight_to_fp16')!;
    const vals = new Float32Array(bw.count).map((_, i) => (i % 7) * 0.25);
    const out = await reload(await writeCoreML(base, new Map([[bw.id, result(bw.id, { kind: 'dense', dtype: 'fp16', shape: bw.shape, values: vals })]]), plan('iOS18')));
    const w = out.weights.find((x) => x.id === bw.id)!;
    expect(w.opType).toBe('const');
    expect(Array.from(await out.readFloat32(w.id))).toEqual(Array.from(vals));
    expect(out.summary.specificationVersion).toBe(9);
  });

  it('produces weight.bin in chunks, never as one buffer', async () => {
    const base = await loadPath(fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage'));
    const w = await writeCoreML(base, new Map(), plan('iOS16'));
    const f = w.files.find((x) => x.path.endsWith('weight.bin'))!;
    let n = 0;
    let biggest = 0;
    for await (const c of f.chunks()) {
      n++;
      biggest = Math.max(biggest, c.length);
    }
    expect(n).toBeGreaterThan(14);
    expect(biggest).toBeLessThan(f.size);
    expect((await outputBytes(f)).length).toBe(f.size);
  });

  it('refuses a result whose dtype or shape does not match the weight, naming it', async () => {
    const base = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const bw = base.weights.find((x) => x.name === 'linear1_weight_to_fp16')!;
    const bad = result(bw.id, { kind: 'dense', dtype: 'fp32', shape: bw.shape, values: new Float32Array(bw.count) });
    await expect(writeCoreML(base, new Map([[bw.id, bad]]), plan('iOS16'))).rejects.toThrow(
      /the result for linear1_weight_to_fp16 is fp32 \[256,64\], but the weight is fp16 \[256,64\]/,
    );
  });

  it('replaces existing constexpr chains (decompressing a joint model back to consts, like decompress_weights)', async () => {
    const m = await loadPath(fixture('golden/base_ios18/joint-prune50-pal4.mlpackage'));
    const results = new Map<string, WeightResult>();
    for (const w of m.weights.filter((x) => x.compression)) {
      results.set(w.id, result(w.id, { kind: 'dense', dtype: 'fp16', shape: w.shape, values: await m.readFloat32(w.id) }));
    }
    expect(results.size).toBe(4);
    const out = await reload(await writeCoreML(m, results, plan('iOS18')));
    expect(opSequence(out).filter((t) => t.startsWith('constexpr_'))).toEqual([]);
    for (const w of m.weights) {
      const o = out.weights.find((x) => x.name === w.baseName)!;
      expect(o.opType).toBe('const');
      expect(o.consumers).toEqual(w.consumers);
      expect(sha256f32(await out.readFloat32(o.id))).toBe(sha256f32(await m.readFloat32(w.id)));
    }
  });
});

