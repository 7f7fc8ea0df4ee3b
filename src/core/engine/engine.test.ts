import { describe, expect, it } from 'vitest';
import { fixture } from '../../../tests/fixtures';
import { loadModel } from '../formats/index';
import { pathTree } from '../../node/fs-tree';
import { globalPlan, jointPlan, linearQuantizerConfig, magnitudePrunerConfig, palettizerConfig } from '../plan/index';
import { compressJob, jobKey, runPlan, selectJobs } from './index';
import { consumerAxes } from './axes';
import { decompress } from '../compress/decompress';

const base18 = () => loadModel(pathTree(fixture('synthetic/base_ios18.mlpackage')));

describe('engine', () => {
  it('jobs are plain structured-clonable data; compressJob is pure and deterministic; jobKey tracks the config', async () => {
    const m = await base18();
    const { jobs } = selectJobs(m, globalPlan(palettizerConfig({ nbits: 4 }), 'iOS18'));
    expect(jobs.length).toBe(4);
    const job = jobs[0];
    const clone = structuredClone(job);
    expect(clone).toEqual(job);
    const dense = await m.readDense(job.id);
    const copy = new Uint16Array(dense.data as Uint16Array);
    const a = compressJob(dense, clone);
    const b = compressJob(dense, job);
    expect(Array.from(dense.data)).toEqual(Array.from(copy));
    expect(a).toEqual(b);
    expect(a.status).toBe('compressed');
    expect(a.bytesAfter).toBeLessThan(a.bytesBefore);
    expect(a.bitsPerWeight).toBeCloseTo((a.bytesAfter * 8) / job.shape.reduce((x, y) => x * y, 1), 9);
    const { jobs: jobs2 } = selectJobs(m, globalPlan(palettizerConfig({ nbits: 2 }), 'iOS18'));
    expect(jobKey(jobs2[0])).not.toBe(jobKey(job));
    const { jobs: jobs3 } = selectJobs(m, globalPlan(palettizerConfig({ nbits: 4 }), 'iOS18'));
    expect(jobKey(jobs3[0])).toBe(jobKey(job));
  });

  it('runPlan reports progress, keeps model order, and stops on abort', async () => {
    const m = await base18();
    const seen: [number, number][] = [];
    const res = await runPlan(m, globalPlan(linearQuantizerConfig(), 'iOS18'), { onProgress: (d, t) => seen.push([d, t]) });
    expect([...res.keys()]).toEqual(m.weights.map((w) => w.id));
    expect(seen[0]).toEqual([0, 4]);
    expect(seen[seen.length - 1]).toEqual([4, 4]);
    for (const r of res.values()) if (r.status === 'skipped') expect(r.reason).toBeTruthy();
    const ac = new AbortController();
    ac.abort();
    await expect(runPlan(m, globalPlan(linearQuantizerConfig(), 'iOS18'), { signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('refuses an iOS18-only plan for an iOS16 target before doing any work', async () => {
    const m = await loadModel(pathTree(fixture('synthetic/base_ios16.mlpackage')));
    await expect(runPlan(m, globalPlan(palettizerConfig({ nbits: 4, granularity: 'per_grouped_channel', group_size: 16 }), 'iOS16'))).rejects.toThrow(
      /per_grouped_channel needs iOS18 \(deployment target is iOS16\)/,
    );
  });

  it('joint prune → palettize → int8 LUT decodes with zeros at the mask', async () => {
    const m = await base18();
    const res = await runPlan(m, jointPlan([magnitudePrunerConfig({ target_sparsity: 0.5 }), palettizerConfig({ nbits: 4, lut_dtype: 'int8' })]));
    const r = [...res.values()].find((x) => x.status === 'compressed')!;
    expect(r.repr!.kind).toBe('sparse');
    const sp = r.repr as Extract<typeof r.repr, { kind: 'sparse' }>;
    expect(sp.inner?.kind).toBe('lut');
    expect((sp.inner as { lutQuant?: unknown }).lutQuant).toBeTruthy();
    const dec = decompress(sp);
    for (let i = 0; i < sp.mask.length; i++) if (!sp.mask[i]) expect(dec[i]).toBe(0);
    expect(r.sparsity).toBeGreaterThanOrEqual(0.5);
  });

  it('channel axes follow coremltools / ONNX conventions', () => {
    expect(consumerAxes({ name: 'c', type: 'conv_transpose', param: 'weight' }, 4)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(consumerAxes({ name: 'm', type: 'matmul', param: 'y' }, 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(consumerAxes({ name: 'm', type: 'matmul', param: 'y', attrs: { transpose_y: true } }, 2)).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(consumerAxes({ name: 'm', type: 'matmul', param: 'x' }, 3)).toEqual({ outputAxis: 1, inputAxis: 2 });
    expect(consumerAxes({ name: 'g', type: 'Gemm', param: '1' }, 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(consumerAxes({ name: 'g', type: 'Gemm', param: '1', attrs: { transB: 1 } }, 2)).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(consumerAxes({ name: 'mm', type: 'MatMul', param: '1' }, 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(consumerAxes({ name: 'ct', type: 'ConvTranspose', param: '1' }, 4)).toEqual({ outputAxis: 1, inputAxis: 0 });
  });
});

describe('engine on ONNX', () => {
  it('compresses float initializers of an ONNX model and says why the others are skipped', async () => {
    const { fileWithSiblings } = await import('../../node/fs-tree');
    const m = await loadModel(fileWithSiblings(fixture('real/onnx/CIFAR10_ImageClassifier.onnx')));
    const res = await runPlan(m, globalPlan(palettizerConfig({ nbits: 4 }), 'iOS18'));
    expect(res.size).toBe(m.weights.length);
    const done = [...res.values()].filter((r) => r.status === 'compressed');
    expect(done.length).toBeGreaterThan(0);
    for (const r of done) {
      expect(r.repr!.kind).toBe('lut');
      expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
      expect(r.snrDb).toBeGreaterThan(10);
    }
    for (const r of res.values()) if (r.status === 'skipped') expect(r.reason).toMatch(/weight_threshold|rank-|dtype|consumer|conflicting|axes/);
  });
});

describe('compressJob robustness', () => {
  it('a tensor that does not match its job is reported on that weight, not thrown', async () => {
    const m = await base18();
    const { jobs } = selectJobs(m, globalPlan(palettizerConfig({ nbits: 4 }), 'iOS18'));
    const r = compressJob({ dtype: 'fp16', shape: [2, 2], data: new Uint16Array(4) }, jobs[0]);
    expect(r.status).toBe('skipped');
    expect(r.reason).toMatch(/does not match the weight/);
  });
});
