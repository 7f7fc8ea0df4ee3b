/**
 * The streaming runner writes what runPlan + writeCoreML write, byte for byte (every file, the file list and
 * sizes, the per-weight metrics), on fixture packages and plans that cover palettization, quantization, pruning,
 * joint forms, iOS16 and iOS18 ops, already-compressed inputs; blobs leave before the last weight is compressed;
 * the sink contract (one open file at a time, the only patch at weight.bin's header); cancellation; fallbacks.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../../../tests/fixtures';
import { loadPath, loadTree } from '../../../tests/coreml/util';
import { memoryTree } from '../io/source';
import { outputBytes, type DenseTensor, type LoadedModel } from '../model/types';
import type { CompressionPlan, OpConfig, WeightResult } from '../compress/types';
import { linearQuantizerConfig, magnitudePrunerConfig, palettizerConfig } from '../plan/index';
import { buildMLProgram } from '../formats/coreml/build';
import { writeCoreML } from '../formats/coreml/write';
import { runPlan } from './run';
import { compressToSink, streamBlocker, streamedName, type OutputSink } from './stream';
import { forcedCollector } from '../../node/collect';

/** An in-memory sink that records the calls (and refuses a second open file or a patch outside the header). */
function memorySink() {
  const files = new Map<string, Uint8Array>();
  const log: string[] = [];
  let open: string | undefined;
  const sink: OutputSink = {
    async open(path) {
      if (open) throw new Error(`${path} opened while ${open} is open`);
      if (files.has(path)) throw new Error(`${path} opened twice`);
      open = path;
      log.push(`open ${path}`);
      let buf = new Uint8Array(0);
      return {
        async write(c) {
          const b = new Uint8Array(buf.length + c.length);
          b.set(buf);
          b.set(c, buf.length);
          buf = b;
        },
        async patch(offset, bytes) {
          log.push(`patch ${path} ${offset} ${bytes.length}`);
          if (offset + bytes.length > buf.length) throw new Error('patch past the end');
          buf.set(bytes, offset);
        },
        async close() {
          files.set(path, buf);
          open = undefined;
          log.push(`close ${path}`);
        },
      };
    },
  };
  return { sink, files, log, written: (p: string) => files.get(p)?.length ?? 0 };
}

const plan = (target: CompressionPlan['target'], ...steps: OpConfig[]): CompressionPlan => ({ target, steps: steps.map((c) => ({ global_config: c })) });
const pal4 = palettizerConfig({ mode: 'kmeans', nbits: 4, granularity: 'per_tensor' });
const palGroup = palettizerConfig({ mode: 'uniform', nbits: 2, granularity: 'per_grouped_channel', group_size: 4 });
const q8 = linearQuantizerConfig({ mode: 'linear_symmetric', dtype: 'int8', granularity: 'per_channel' });
const q4block = linearQuantizerConfig({ mode: 'linear', dtype: 'int4', granularity: 'per_block', block_size: 16 });
const prune50 = magnitudePrunerConfig({ target_sparsity: 0.5 });
const palLutQ = palettizerConfig({ mode: 'kmeans', nbits: 4, granularity: 'per_tensor', lut_dtype: 'int8' });

const CASES: [string, CompressionPlan][] = [
  ['synthetic/base_ios16.mlpackage', plan('iOS16', pal4)],
  ['synthetic/base_ios16.mlpackage', plan('iOS16', q8)],
  ['synthetic/base_ios16.mlpackage', plan('iOS16', prune50)],
  ['synthetic/base_ios18.mlpackage', plan('iOS18', prune50, pal4)],
  ['synthetic/base_ios18.mlpackage', plan('iOS18', prune50, q8)],
  ['synthetic/base_ios18.mlpackage', plan('iOS18', q4block)],
  ['synthetic/base_ios18.mlpackage', plan('iOS18', palLutQ)],
  ['synthetic/base_ios18.mlpackage', plan('iOS18', palGroup)],
  ['real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage', plan('iOS16', prune50)],
  ['real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage', plan('iOS16', pal4)],
  // every weight already compressed: all skipped, every blob copied from the input
  ['golden/base_ios18/joint-prune50-pal4.mlpackage', plan('iOS18', q8)],
];
const ALL_SKIPPED = 'golden/base_ios18/joint-prune50-pal4.mlpackage';

function strip(results: Map<string, WeightResult>): [string, Omit<WeightResult, 'repr'>][] {
  return [...results].map(([id, { repr: _repr, ...rest }]) => [id, rest]);
}

async function both(model: LoadedModel, p: CompressionPlan, tag: string) {
  const results = await runPlan(model, p);
  const w = await writeCoreML(model, results, { plan: p, tag });
  const expected = new Map<string, Uint8Array>();
  for (const f of w.files) expected.set(f.path, await outputBytes(f));
  const m = memorySink();
  const progress: number[] = [];
  const run = await compressToSink(model, p, m.sink, { tag, onProgress: (d) => progress.push(d) });
  return { results, w, expected, m, run, progress };
}

describe('compressToSink writes what runPlan + writeCoreML write', () => {
  it.each(CASES.map(([m, p], i) => [i, m, p] as const))('#%i %s', async (_i, rel, p) => {
    const model = await loadPath(fixture(rel));
    expect(streamBlocker(model, p)).toBeUndefined();
    const { results, w, expected, m, run } = await both(model, p, 'test');
    expect(run.written.name).toBe(w.name);
    expect(run.written.files).toEqual(w.files.map((f) => ({ path: f.path, size: f.size })));
    expect([...m.files.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, bytes] of expected) {
      const got = m.files.get(path)!;
      expect(got.length, path).toBe(bytes.length);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(bytes)), `${path} differs`).toBe(0);
    }
    expect(strip(run.results)).toEqual(strip(results));
    for (const r of run.results.values()) expect(r.repr).toBeUndefined();
    expect([...results.values()].some((r) => r.status === 'compressed')).toBe(rel !== ALL_SKIPPED);
    // weight.bin first, its blob count patched once at the end, every other file after it
    const weights = w.files.find((f) => f.path.endsWith('/weight.bin'))!.path;
    expect(m.log[0]).toBe(`open ${weights}`);
    expect(m.log.filter((l) => l.startsWith('patch'))).toEqual([`patch ${weights} 0 64`]);
  });
});

/** A package of four chained fp16 linear layers, the biggest (fc2) 2,097,152 elements (4 MiB). */
async function bigModel(shapes = [[64, 64], [1024, 64], [2048, 1024], [256, 2048]], seed = 7): Promise<LoadedModel> {
  const layers = shapes.map(([o, i], k) => {
    const data = new Uint16Array(o * i);
    for (let j = 0; j < data.length; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[j] = 0x2000 + (seed >>> 21) + ((seed & 1) << 15); // small normals of both signs
    }
    const weight: DenseTensor = { dtype: 'fp16', shape: [o, i], data };
    return { name: `fc${k}`, op: 'linear' as const, weight };
  });
  const wm = buildMLProgram({ layers, target: 'iOS16', name: 'Big' });
  const files: Record<string, Uint8Array> = {};
  for (const f of wm.files) files[f.path] = await outputBytes(f);
  return loadTree(memoryTree(wm.name, files));
}

describe('streaming', () => {
  it('writes each weight’s blobs before the next weight is compressed', async () => {
    const model = await bigModel();
    const p = plan('iOS16', pal4);
    const m = memorySink();
    const weights = 'Data/com.apple.CoreML/weights/weight.bin';
    const bytesAt: number[] = [];
    let openBytes = 0;
    const sink: OutputSink = {
      async open(path) {
        const f = await m.sink.open(path);
        return {
          async write(c) {
            if (path === weights) openBytes += c.length;
            await f.write(c);
          },
          patch: (o, b) => f.patch(o, b),
          close: () => f.close(),
        };
      },
    };
    const run = await compressToSink(model, p, sink, { tag: 't', onProgress: (d) => d > 0 && bytesAt.push(openBytes) });
    // progress d is reported right after weight d is compressed, before it is emitted
    expect(bytesAt.length).toBe(4);
    for (let k = 1; k < bytesAt.length; k++) expect(bytesAt[k]).toBeGreaterThan(bytesAt[k - 1]);
    expect(bytesAt[3]).toBeLessThan(m.written(weights));
    const results = await runPlan(model, p);
    const w = await writeCoreML(model, results, { plan: p, tag: 't' });
    for (const f of w.files) expect(Buffer.compare(Buffer.from(m.files.get(f.path)!), Buffer.from(await outputBytes(f))), f.path).toBe(0);
    expect(run.written.files.map((f) => f.path)).toEqual(w.files.map((f) => f.path));
  });

  it('forces collections around the biggest weights only (before reading, after compressing)', async () => {
    const model = await bigModel();
    const order: string[] = [];
    let compressedCount = 0;
    await compressToSink(model, plan('iOS16', q8), memorySink().sink, {
      collect: () => order.push(`gc after ${compressedCount}`),
      onProgress: (d) => {
        compressedCount = d;
        order.push(`compressed ${d}`);
      },
    });
    // fc2 (2048×1024 fp16, 4 MiB) is the only weight of at least half the biggest and of 4 MiB: one collection
    // before it is read, one after it is compressed (before its progress report)
    expect(order).toEqual(['compressed 0', 'compressed 1', 'compressed 2', 'gc after 2', 'gc after 2', 'compressed 3', 'compressed 4']);
  });

  it('stops with "cancelled" when the signal is aborted, and closes weight.bin', async () => {
    const model = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const ac = new AbortController();
    const m = memorySink();
    const run = compressToSink(model, plan('iOS16', q8), m.sink, { signal: ac.signal, onProgress: (d) => d === 2 && ac.abort() });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(m.log.filter((l) => l.startsWith('open')).length).toBe(m.log.filter((l) => l.startsWith('close')).length);
  });

  it('names the output as writeCoreML does, and refuses models it cannot stream', async () => {
    const pkg = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    expect(streamedName(pkg, 'q8')).toBe('base_ios16.q8.mlpackage');
    const mlmodel = await loadPath(fixture('synthetic/base_nn.mlmodel'));
    expect(streamBlocker(mlmodel, plan('iOS16', q8))).toMatch(/only \.mlpackage/);
    await expect(compressToSink(mlmodel, plan('iOS16', q8), memorySink().sink)).rejects.toMatchObject({ code: 'internal' });
  });
});

/** A built model's files written under dir and loaded from disk (reads fill fresh or lent buffers, not views of a file). */
async function onDisk(built: LoadedModel, dir: string, name: string): Promise<LoadedModel> {
  const internal = built.internal as { tree: { paths(): string[]; get(p: string): { size: number; read(o: number, n: number): Promise<Uint8Array> } | undefined } };
  for (const p of internal.tree.paths()) {
    const src = internal.tree.get(p)!;
    mkdirSync(join(dir, name, p, '..'), { recursive: true });
    writeFileSync(join(dir, name, p), await src.read(0, src.size));
  }
  return loadPath(join(dir, name));
}

describe('reused buffers', () => {
  // Weights of ≥ 1 MiB are read into, and int8/int4 symmetric codes written to, buffers the runner reuses once a
  // weight's blob is written: a later weight of the same or a smaller size gets an earlier one's stale bytes.
  const q4 = linearQuantizerConfig({ mode: 'linear_symmetric', dtype: 'int4', granularity: 'per_channel' });
  const plans: [string, CompressionPlan][] = [
    ['q8', plan('iOS16', q8)],
    ['q4', plan('iOS18', q4)],
    ['pal4', plan('iOS16', pal4)],
    ['prune50', plan('iOS16', prune50)],
    ['prune50+q8', plan('iOS18', prune50, q8)],
  ];
  it.each(plans)('cannot change a later weight’s output (%s)', async (_n, p) => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-stream-reuse-'));
    try {
      // same-size weights, a smaller one after them (a bigger stale buffer), then the big size again
      const built = await bigModel([[1024, 64], [1024, 1024], [1024, 1024], [768, 1024], [1024, 768], [1024, 1024]], 11);
      const model = await onDisk(built, dir, 'Same.mlpackage');
      const lent: string[] = [];
      const read = model.readDense.bind(model);
      model.readDense = async (id, scratch) => {
        if (scratch) lent.push(id);
        return read(id, scratch);
      };
      const { results, expected, m, run } = await both(model, p, 'r');
      expect(lent.length).toBe(5); // every weight but the first (128 KiB) was read into a lent buffer
      for (const [path, bytes] of expected) expect(Buffer.compare(Buffer.from(m.files.get(path)!), Buffer.from(bytes)), `${path} differs`).toBe(0);
      expect(strip(run.results)).toEqual(strip(results));
      expect([...results.values()].filter((r) => r.status === 'compressed').length).toBe(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('memory', () => {
  it('keeps no buffer of an earlier weight alive but the few big ones it reuses, and none after the run', async () => {
    const gc = forcedCollector();
    expect(gc).toBeDefined();
    // on disk: reads fill fresh or lent buffers (an in-memory tree returns views of the whole file)
    const dir = mkdtempSync(join(tmpdir(), 'sr-stream-mem-'));
    try {
      const model = await onDisk(await bigModel(), dir, 'Big.mlpackage');
      // a WeakRef keeps its target until the current job ends: each is made before a macrotask boundary
      const turn = () => new Promise((r) => setImmediate(r));
      const dense: WeakRef<ArrayBufferLike>[] = [];
      const read = model.readDense.bind(model);
      model.readDense = async (id, scratch) => {
        const d = await read(id, scratch);
        dense.push(new WeakRef(d.data.buffer));
        await turn();
        return d;
      };
      // int8 codes are written as views of the representation's own buffer: a chunk alive = the representation alive
      const chunks: WeakRef<ArrayBufferLike>[][] = [];
      const m = memorySink();
      const sink: OutputSink = {
        async open(path) {
          const f = await m.sink.open(path);
          return {
            async write(c) {
              if (c.length >= 4096) (chunks[chunks.length - 1] ??= []).push(new WeakRef(c.buffer));
              await f.write(c);
              await turn();
            },
            patch: (o, b) => f.patch(o, b),
            close: () => f.close(),
          };
        },
      };
      const small: string[] = [];
      const bigBytes: number[] = [];
      let held = 0;
      let reused = 0;
      const live = (list: WeakRef<ArrayBufferLike>[]) => list.map((r) => r.deref()).filter((b): b is ArrayBufferLike => b !== undefined);
      await compressToSink(model, plan('iOS16', q8), sink, {
        onProgress: (d) => {
          if (d === 0) return;
          gc!();
          // weight d was just compressed. Alive from before: only buffers of at least 1 MiB the runner keeps for
          // reuse (fc2's 4 MiB read and 2 MiB codes: weight d's own read may be one of them); no smaller one
          const earlier = new Set<ArrayBufferLike>([...live(dense.slice(0, d - 1)), ...live(chunks.slice(0, d - 1).flat())]);
          for (const b of earlier) if (b.byteLength < 1 << 20) small.push(`${b.byteLength} bytes at ${d}`);
          bigBytes.push([...earlier].reduce((t, b) => t + b.byteLength, 0));
          const mine = dense[d - 1].deref();
          if (mine && earlier.has(mine)) reused++;
          held += chunks.flat().length;
          chunks.push([]);
        },
      });
      expect(dense.length).toBe(4);
      expect(held).toBeGreaterThanOrEqual(3);
      expect(small).toEqual([]);
      expect(Math.max(...bigBytes)).toBeLessThanOrEqual(6 << 20);
      expect(reused).toBe(1); // fc3 (1 MiB) is read into fc2's codes buffer (2 MiB)
      // once the run is over, nothing of any weight is alive
      await turn();
      gc!();
      expect(live(dense).length + live(chunks.flat()).length).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
