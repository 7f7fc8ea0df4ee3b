/**
 * The ML program reader fills Consumer.attrs from the op's bound const inputs or immediate values (matmul
 * transpose_x / transpose_y, conv groups), and the engine's channel axes follow them.
 */
import { describe, expect, it } from 'vitest';
import { reload } from '../../../../tests/coreml/util';
import type { AffineRepr } from '../../compress/types';
import { runPlan, selectJobs } from '../../engine';
import { globalPlan, linearQuantizerConfig } from '../../plan';
import { buildMLProgram } from './build';

const data = (n: number, k = 1) => new Float32Array(n).map((_, i) => Math.sin(i * 0.37 * k) * 0.1);

describe('MIL consumer attrs', () => {
  it('matmul transpose flags (immediate transpose_x, const transpose_y) decide the weight axes', async () => {
    for (const transposeY of [false, true]) {
      // y is [C_in = 48, C_out = 96], or [96, 48] with transpose_y
      const shape = transposeY ? [96, 48] : [48, 96];
      const m = await reload(
        buildMLProgram({
          target: 'iOS18',
          layers: [
            { name: 'fc0', op: 'linear', weight: { dtype: 'fp32', shape: [48, 32], data: data(48 * 32) } },
            { name: 'mm', op: 'matmul', transposeY, weight: { dtype: 'fp32', shape, data: data(96 * 48, 2) } },
          ],
        }),
      );
      const w = m.weights.find((x) => x.name === 'mm_weight_to_fp16')!;
      expect(w.consumers).toEqual([{ name: 'mm_cast_fp16', type: 'matmul', param: 'y', attrs: { transpose_x: false, transpose_y: transposeY } }]);
      // linear has neither param: no attrs
      expect(m.weights.find((x) => x.name === 'fc0_weight_to_fp16')!.consumers[0].attrs).toBeUndefined();
      const plan = globalPlan(linearQuantizerConfig({ dtype: 'int8', granularity: 'per_channel' }), 'iOS18');
      const job = selectJobs(m, plan).jobs.find((j) => j.id === w.id)!;
      expect(job.ctx).toMatchObject(transposeY ? { outputAxis: 0, inputAxis: 1 } : { outputAxis: 1, inputAxis: 0 });
      // per-channel scales along the 96 output channels either way
      const r = (await runPlan(m, plan)).get(w.id)!;
      expect(r.status).toBe('compressed');
      expect((r.repr as AffineRepr).scaleShape).toEqual(transposeY ? [96, 1] : [1, 96]);
    }
  });

  it('conv groups come from the bound int32 const', async () => {
    const m = await reload(
      buildMLProgram({
        target: 'iOS18',
        layers: [{ name: 'conv1', op: 'conv', groups: 4, weight: { dtype: 'fp32', shape: [16, 2, 3, 3], data: data(16 * 2 * 9) } }],
      }),
    );
    const w = m.weights.find((x) => x.name === 'conv1_weight_to_fp16')!;
    expect(w.consumers).toEqual([{ name: 'conv1_cast_fp16', type: 'conv', param: 'weight', attrs: { groups: 4 } }]);
    const plan = globalPlan(linearQuantizerConfig({ weight_threshold: 0 }), 'iOS18');
    const job = selectJobs(m, plan).jobs.find((j) => j.id === w.id)!;
    expect(job.convGroups).toBe(4);
  });
});
