import { describe, expect, it } from 'vitest';
import { fixture, readJson } from '../../../../../tests/fixtures';
import { sha256f32 } from '../../../../../tests/nn/helpers';
import { loadModel } from '../../index';
import { pathTree } from '../../../../node/fs-tree';

describe('neural networks through loadModel', () => {
  for (const [model, path, cfg] of [
    ['base_nn', ['synthetic', 'base_nn.mlmodel'], 'base'],
    ['MNIST_CNN', ['real', 'coreml', 'MNIST_CNN.mlmodel'], 'base'],
    ['base_nn', ['golden', 'base_nn', 'nn-linear-4.mlmodel'], 'nn-linear-4'],
    ['MNIST_CNN', ['golden', 'MNIST_CNN', 'nn-kmeans-4.mlmodel'], 'nn-kmeans-4'],
  ] as const) {
    it(`${path.join('/')}: the golden inventory and values`, async () => {
      const golden = readJson('golden', model, `${cfg}.json`);
      const m = await loadModel(pathTree(fixture(...path)));
      expect(m.summary.specificationVersion).toBe(golden.specification_version);
      expect(m.weights.map((w) => w.name)).toEqual(golden.weights.map((w: any) => w.name));
      for (const g of golden.weights) {
        const w = m.weights.find((x) => x.name === g.name)!;
        expect([w.opType, w.dtype, w.count]).toEqual([g.op_type, g.dtype, g.values.count]);
        expect(w.shape).toEqual(g.shape);
        expect(sha256f32(await m.readFloat32(w.id))).toBe(g.values.sha256_f32le);
      }
    });
  }

  it('Exermote and PoseEstimation load with every layer weight', async () => {
    const ex = await loadModel(pathTree(fixture('real', 'coreml', 'Exermote_ActivityLSTM.mlmodel')));
    expect(ex.weights.length).toBe(30);
    const pose = await loadModel(pathTree(fixture('real', 'coreml', 'PoseEstimation_CPM.mlmodel')));
    expect(pose.weights.length).toBe(145 + 4 * 93);
    expect(new Set(pose.weights.map((w) => w.id)).size).toBe(pose.weights.length);
  });
});
