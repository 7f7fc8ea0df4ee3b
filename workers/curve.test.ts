import { describe, expect, it } from 'vitest';
import { curveResults, isCurveJob } from './curve';
import { compressJob, selectJobs, type Job } from '../src/core/engine';
import { globalPlan, palettizerConfig, linearQuantizerConfig } from '../src/core/plan';
import { loadModel } from '../src/core/formats';
import type { LoadedModel } from '../src/core/model/types';
import { pathTree } from '../src/node/fs-tree';
import { fixture } from '../tests/fixtures';

/** Per weight, the jobs of the size budget's candidates (palettization 1..8 bits, int8), as the store asks. */
function budgetJobs(model: LoadedModel): Map<string, Job[]> {
  const plans = [1, 2, 4, 6, 8].map((nbits) => globalPlan(palettizerConfig({ mode: 'kmeans', nbits }), 'iOS16'));
  plans.push(globalPlan(linearQuantizerConfig({ mode: 'linear_symmetric', dtype: 'int8', granularity: 'per_channel' }), 'iOS16'));
  const by = new Map<string, Job[]>();
  for (const p of plans) for (const j of selectJobs(model, p).jobs) by.set(j.id, [...(by.get(j.id) ?? []), j]);
  return by;
}

async function check(path: string, expectFast: boolean) {
  const model = await loadModel(pathTree(fixture(path)));
  const by = budgetJobs(model);
  expect(by.size).toBeGreaterThan(0);
  for (const [id, jobs] of by) {
    expect(jobs.filter(isCurveJob).length).toBe(expectFast ? 5 : 0);
    const dense = await model.readDense(id);
    const got = curveResults(dense, jobs);
    const want = jobs.map((j) => {
      const { repr: _r, ...rest } = compressJob(dense, j);
      return rest;
    });
    expect(got).toEqual(want);
  }
}

describe('curveResults: one call per weight, the same numbers as one compressJob per candidate', () => {
  it('base_ios16 (fp16 ML program): palettization from one histogram, int8 by the engine', () => check('synthetic/base_ios16.mlpackage', true));
  it('base_nn (NeuralNetwork): every job by the engine', () => check('synthetic/base_nn.mlmodel', false));
  it('an ONNX model (ONNX byte counts): every job by the engine', () => check('real/onnx/CIFAR10_ImageClassifier.onnx', false));
});
