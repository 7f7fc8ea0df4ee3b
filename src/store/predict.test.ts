import { describe, expect, it } from 'vitest';
import { compressJob, selectJobs } from '../core/engine';
import { loadModel } from '../core/formats';
import { pathTree } from '../node/fs-tree';
import { fixture } from '../../tests/fixtures';
import { buildPlan, DEFAULT_SETTINGS, needsIOS18, type Settings } from './settings';
import { predictBytes } from './predict';

// every control that changes the stored size: bit widths, modes, granularities, groups, blocks, dtypes
const VARIANTS: Partial<Settings>[] = [
  ...[1, 2, 4, 6, 8].map((nbits) => ({ method: 'palettize' as const, nbits, palMode: 'kmeans' as const, palGranularity: 'per_tensor' as const })),
  { method: 'palettize', nbits: 3, palMode: 'kmeans', palGranularity: 'per_tensor' },
  { method: 'palettize', nbits: 4, palMode: 'uniform', palGranularity: 'per_tensor' },
  { method: 'palettize', nbits: 4, palMode: 'kmeans', palGranularity: 'per_grouped_channel', groupSize: 16 },
  { method: 'palettize', nbits: 2, palMode: 'kmeans', palGranularity: 'per_grouped_channel', groupSize: 4 },
  ...(['int8', 'uint8', 'int4', 'uint4'] as const).flatMap((qDtype) =>
    (['linear_symmetric', 'linear'] as const).flatMap((qMode) =>
      (['per_tensor', 'per_channel', 'per_block'] as const).map((qGranularity) => ({ method: 'quantize' as const, qDtype, qMode, qGranularity, blockSize: 32 })),
    ),
  ),
  { method: 'quantize', qDtype: 'int4', qMode: 'linear_symmetric', qGranularity: 'per_block', blockSize: 16 },
];

describe('predictBytes: totals before the kernels run', () => {
  for (const name of ['base_ios16.mlpackage', 'base_ios18.mlpackage']) {
    it(`${name}: every exact prediction equals the bytes the kernel's result has (palettization and quantization)`, async () => {
      const model = await loadModel(pathTree(fixture('synthetic', name)));
      let exact = 0;
      let compared = 0;
      for (const target of ['iOS16', 'iOS18'] as const) {
        for (const v of VARIANTS) {
          const s = { ...DEFAULT_SETTINGS, ...v, target, weightThreshold: 0 } as Settings;
          // a config the target refuses (3-bit, grouped, 4-bit, per-block below iOS18) has no jobs to predict
          if (target !== 'iOS18' && needsIOS18(s)) continue;
          const { jobs } = selectJobs(model, buildPlan(s, {}, {}));
          for (const job of jobs) {
            const p = predictBytes(job);
            if (!p) continue;
            expect(p.exact).toBe(true);
            exact++;
            const r = compressJob(await model.readDense(job.id), job);
            // a skipped weight keeps its bytes and replaces the prediction; a compressed one must match it exactly
            if (r.status !== 'compressed') continue;
            compared++;
            expect(r.bytesAfter, `${job.name} ${job.label} ${target}`).toBe(p.bytes);
          }
        }
      }
      expect(exact).toBeGreaterThan(100);
      expect(compared).toBeGreaterThan(100);
    }, 120_000);
  }

  it('50% magnitude pruning: an estimate (flagged as such) within 0.1% of the result', async () => {
    const model = await loadModel(pathTree(fixture('synthetic', 'base_ios16.mlpackage')));
    const { jobs } = selectJobs(model, buildPlan({ ...DEFAULT_SETTINGS, method: 'prune', sparsity: 0.5, weightThreshold: 0 }, {}, {}));
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) {
      const p = predictBytes(job)!;
      expect(p.exact).toBe(false);
      const r = compressJob(await model.readDense(job.id), job);
      expect(Math.abs(r.bytesAfter - p.bytes), job.name).toBeLessThanOrEqual(Math.max(4, r.bytesBefore * 0.001));
    }
  });

  it('no prediction where the stored form is not known from the config alone (vector LUTs, joint forms, NeuralNetwork)', async () => {
    const ml = await loadModel(pathTree(fixture('synthetic', 'base_ios18.mlpackage')));
    const joint = selectJobs(ml, buildPlan({ ...DEFAULT_SETTINGS, method: 'prune+palettize', target: 'iOS18', weightThreshold: 0 }, {}, {})).jobs;
    expect(joint.length).toBeGreaterThan(0);
    for (const j of joint) expect(predictBytes(j)).toBeUndefined();
    const nn = await loadModel(pathTree(fixture('synthetic', 'base_nn.mlmodel')));
    const nnJobs = selectJobs(nn, buildPlan({ ...DEFAULT_SETTINGS, method: 'quantize', weightThreshold: 0 }, {}, {})).jobs;
    expect(nnJobs.length).toBeGreaterThan(0);
    for (const j of nnJobs) expect(predictBytes(j)).toBeUndefined();
  });
});
