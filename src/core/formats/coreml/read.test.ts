import { readdirSync, existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture, readJson } from '../../../../tests/fixtures';
import { compareToGolden, storageDiffs, type GoldenWeight } from '../../../../tests/coreml/golden';
import { loadPath } from '../../../../tests/coreml/util';

interface GoldenJson {
  path: string;
  model_type: string;
  specification_version: number;
  weight_count: number;
  opsets?: string[];
  functions?: string[];
  weights: GoldenWeight[];
}

const goldenDirs = readdirSync(fixture('golden')).filter((d) => existsSync(fixture('golden', d, 'base.json')));
const goldenJsons = goldenDirs.flatMap((d) =>
  readdirSync(fixture('golden', d))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [d, f] as const),
);

describe('Core ML reader against the golden inspect JSON', () => {
  it('covers every inspect JSON that configs.json lists', () => {
    const cfg = readJson<{ models: Record<string, { base_inspect?: string }>; configs: Record<string, { applied_to: Record<string, { inspect?: string }> }> }>('golden', 'configs.json');
    const listed = new Set<string>();
    for (const m of Object.values(cfg.models)) if (m.base_inspect) listed.add(m.base_inspect);
    for (const c of Object.values(cfg.configs)) for (const a of Object.values(c.applied_to)) if (a.inspect) listed.add(a.inspect);
    expect(new Set(goldenJsons.map(([d, f]) => `golden/${d}/${f}`))).toEqual(listed);
  });
  for (const [dir, file] of goldenJsons) {
    it(`${dir}/${file}`, async () => {
      const g = readJson<GoldenJson>('golden', dir, file);
      const m = await loadPath(fixture(g.path));
      expect(m.summary.modelType).toBe(g.model_type);
      expect(m.summary.specificationVersion).toBe(g.specification_version);
      expect(m.weights.length).toBe(g.weight_count);
      if (g.opsets) expect(m.summary.opsets).toEqual(g.opsets);
      if (g.functions) expect(m.summary.functions).toEqual(g.functions);
      // names, base names, op types, chains, shapes, dtypes, counts and the decompressed values' statistics + sha256
      expect(await compareToGolden(m, g)).toEqual([]);
      // every storage input of every constexpr chain: dtype, shape, producer
      const diffs: string[] = [];
      for (const gw of g.weights) {
        const w = m.weights.find((x) => x.name === gw.name)!;
        if (g.model_type === 'mlProgram') diffs.push(...storageDiffs(m, w.id, gw));
      }
      expect(diffs).toEqual([]);
    });
  }
});

describe('Core ML reader: inventory details', () => {
  it('reads exact stored bytes and compression of compressed weights', async () => {
    const m = await loadPath(fixture('golden/base_ios18/q-int4-sym-block32.mlpackage'));
    const w = m.weights.find((x) => x.baseName === 'linear1_weight_to_fp16')!;
    // int4 [256,64] packed = 8192 bytes + fp16 scales [256,2] = 1024 bytes
    expect(w.bytes).toBe(8192 + 1024);
    expect(w.compression).toEqual({ kind: 'quantized', nbits: 4, granularity: 'per_block', opChain: ['constexpr_blockwise_shift_scale'] });
    const repr = await m.readRepr(w.id);
    expect(repr.kind).toBe('affine');
    if (repr.kind !== 'affine') return;
    expect(repr.qdtype).toBe('int4');
    expect(repr.scaleShape).toEqual([256, 2]);
    expect(repr.data.length).toBe(256 * 64);
    expect(Math.min(...repr.data)).toBeGreaterThanOrEqual(-8);
  });

  it('reads an iOS16 palettized weight as the iOS18 LUT form and a pruned weight as a mask', async () => {
    const m = await loadPath(fixture('golden/base_ios16/pal-kmeans-4-tensor.mlpackage'));
    const w = m.weights.find((x) => x.baseName === 'conv2_weight_to_fp16')!;
    expect(w.compression).toEqual({ kind: 'palettized', nbits: 4, granularity: 'per_tensor', opChain: ['constexpr_lut_to_dense'] });
    const r = await m.readRepr(w.id);
    expect(r.kind).toBe('lut');
    if (r.kind === 'lut') {
      expect(r.lutShape).toEqual([1, 1, 1, 1, 16, 1]);
      expect(r.indices.length).toBe(64 * 32 * 9);
      // 4-bit packed indices + 16 fp16 LUT entries
      expect(w.bytes).toBe((64 * 32 * 9) / 2 + 32);
    }
    const p = await loadPath(fixture('golden/base_ios16/prune-mag-50.mlpackage'));
    const pw = p.weights.find((x) => x.baseName === 'linear2_weight_to_fp16')!;
    const pr = await p.readRepr(pw.id);
    expect(pr.kind).toBe('sparse');
    if (pr.kind === 'sparse') {
      expect(pr.mask.reduce((a, b) => a + b, 0)).toBe(pr.values.length);
      const dense = await p.readFloat32(pw.id);
      expect(dense.filter((v) => v !== 0).length).toBe(pr.values.length);
    }
  });

  it('reads uncompressed weights as dense tensors with fp16 bits kept', async () => {
    const m = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const w = m.weights.find((x) => x.name === 'conv2_weight_to_fp16')!;
    const d = await m.readDense(w.id);
    expect(d.dtype).toBe('fp16');
    expect(d.data).toBeInstanceOf(Uint16Array);
    expect(d.data.length).toBe(18432);
    expect(w.location).toMatchObject({ kind: 'blob', file: 'Data/com.apple.CoreML/weights/weight.bin' });
    expect(w.consumers).toEqual([{ name: 'conv2_cast_fp16', type: 'conv', param: 'weight', attrs: { groups: 1 } }]);
    expect(m.summary.os).toBe('iOS16 / macOS13');
    expect(m.summary.totalParams).toBe(m.weights.reduce((a, x) => a + x.count, 0));
    expect(m.summary.bytesByDtype.fp16).toBe(m.summary.totalWeightBytes);
  });

  it('finds the weights inside while_loop bodies of the DTLN models (nested blocks)', async () => {
    const m = await loadPath(fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage'));
    expect(m.weights.some((w) => (w.scope ?? '').split('/').length > 1)).toBe(true);
  });
});

describe('Core ML reader: every real and synthetic model loads', () => {
  const real = readdirSync(fixture('real/coreml')).map((f) => `real/coreml/${f}`);
  const synthetic = readdirSync(fixture('synthetic')).map((f) => `synthetic/${f}`);
  for (const p of [...real, ...synthetic]) {
    it(p, async () => {
      if (p.endsWith('.zip')) {
        const { detectFormat } = await import('../detect');
        const { fileWithSiblings } = await import('../../../node/fs-tree');
        const { loadCoreML } = await import('./index');
        const t = fileWithSiblings(fixture(p));
        const m = await loadCoreML(t, await detectFormat(t));
        expect(m.weights.length).toBeGreaterThan(0);
        return;
      }
      expect(statSync(fixture(p))).toBeTruthy();
      const m = await loadPath(fixture(p));
      if (p.includes('textClassifier')) {
        expect(m.weights.length).toBe(0);
        expect(m.summary.modelType).toBe('textClassifier');
        expect(m.summary.note).toBe('unsupported model type textClassifier: no compressible weights');
      } else {
        expect(m.weights.length).toBeGreaterThan(0);
        expect(m.summary.totalWeightBytes).toBeGreaterThan(0);
        // every weight decompresses to its element count
        for (const w of m.weights.slice(0, 40)) expect((await m.readFloat32(w.id)).length).toBe(w.count);
      }
    });
  }
});

describe('model description for display', () => {
  it('reads inputs, outputs and coremltools metadata', async () => {
    const { coremlDescription } = await import('./description');
    const m = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const d = coremlDescription(m)!;
    expect(d.inputs.map((i) => i.name)).toEqual(['x']);
    expect(d.inputs[0].type).toMatch(/^multiArray fp32 \[1,3,32,32\]$/);
    expect(d.outputs.length).toBe(1);
    expect(Object.keys(d.metadata.userDefined)).toContain('com.github.apple.coremltools.version');
    const nn = await loadPath(fixture('real/coreml/MNIST_CNN.mlmodel'));
    expect(coremlDescription(nn)!.inputs.length).toBeGreaterThan(0);
  });
});
