/** Channel axes of ONNX and MIL consumers (recurrent weights, Gemm / MatMul operands, transposed conv). */
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../tests/fixtures';
import { fileWithSiblings } from '../../node/fs-tree';
import type { AffineRepr } from '../compress/types';
import type { WeightInfo } from '../model/types';
import { loadModel } from '../formats/index';
import { globalPlan, linearQuantizerConfig } from '../plan/index';
import { consumerAxes, weightAxes } from './axes';
import { runPlan, selectJobs } from './index';

const ax = (type: string, param: string, rank: number, attrs?: Record<string, number | boolean>) => consumerAxes({ name: 'n', type, param, ...(attrs ? { attrs } : {}) }, rank);

describe('consumerAxes', () => {
  it('ONNX LSTM / GRU / RNN: W and R are [num_directions, G*H, I|H] (output axis 1, input axis 2); B [num_directions, 2*G*H]', () => {
    for (const t of ['LSTM', 'GRU', 'RNN']) {
      expect(ax(t, '1', 3)).toEqual({ outputAxis: 1, inputAxis: 2 });
      expect(ax(t, '2', 3)).toEqual({ outputAxis: 1, inputAxis: 2 });
      expect(ax(t, '3', 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    }
  });

  it('ONNX Gemm with the weight as A or B, with and without transA / transB', () => {
    expect(ax('Gemm', '0', 2)).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(ax('Gemm', '0', 2, { transA: 1 })).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(ax('Gemm', '1', 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(ax('Gemm', '1', 2, { transB: 1 })).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(ax('Gemm', '1', 2, { transB: 0 })).toEqual({ outputAxis: 1, inputAxis: 0 });
  });

  it('ONNX MatMul: B [.., K, N] and A [.., M, K], any rank', () => {
    expect(ax('MatMul', '1', 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(ax('MatMul', '1', 3)).toEqual({ outputAxis: 2, inputAxis: 1 });
    expect(ax('MatMul', '0', 2)).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(ax('MatMul', '0', 4)).toEqual({ outputAxis: 2, inputAxis: 3 });
  });

  it('ConvTranspose / conv_transpose weights [C_in, C_out/groups, k..]; Conv / conv [C_out, C_in/groups, k..]', () => {
    expect(ax('ConvTranspose', '1', 4, { group: 2 })).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(ax('conv_transpose', 'weight', 3)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(ax('Conv', '1', 4)).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(ax('conv', 'weight', 4)).toEqual({ outputAxis: 0, inputAxis: 1 });
  });

  it('MIL matmul transpose flags on either operand', () => {
    expect(ax('matmul', 'y', 2)).toEqual({ outputAxis: 1, inputAxis: 0 });
    expect(ax('matmul', 'y', 2, { transpose_y: true })).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(ax('matmul', 'x', 2)).toEqual({ outputAxis: 0, inputAxis: 1 });
    expect(ax('matmul', 'x', 2, { transpose_x: true })).toEqual({ outputAxis: 1, inputAxis: 0 });
  });

  it('a weight read by consumers that need different axes is refused with a reason', () => {
    const w: WeightInfo = {
      id: 'w', name: 'w', baseName: 'w', opType: 'initializer', shape: [4, 4], dtype: 'fp32' as const, count: 16, bytes: 64,
      location: { kind: 'inline' as const },
      consumers: [
        { name: 'a', type: 'MatMul', param: '1' },
        { name: 'b', type: 'Gemm', param: '1', attrs: { transB: 1 } },
      ],
    };
    expect(weightAxes(w)).toEqual({ reason: expect.stringMatching(/different channel axes/) });
  });
});

describe('recurrent weights in a real model (silero_vad_v4_lstm.onnx)', () => {
  it('LSTM W and R are quantized per gate row (axis 1)', async () => {
    const m = await loadModel(fileWithSiblings(fixture('real', 'onnx', 'silero_vad_v4_lstm.onnx')));
    const plan = globalPlan(linearQuantizerConfig({ dtype: 'int8', granularity: 'per_channel' }));
    const { jobs } = selectJobs(m, plan);
    const lstm = m.weights.filter((w) => w.consumers.length && w.consumers.every((c) => c.type === 'LSTM'));
    expect(lstm.length).toBe(24);
    // W and R (256×64 = 16384 elements); B (512) is at or below weight_threshold 2048 and skipped
    const wr = lstm.filter((w) => w.shape.length === 3);
    expect(wr.length).toBe(16);
    for (const w of wr) {
      const job = jobs.find((j) => j.id === w.id)!;
      expect(job, w.name).toBeDefined();
      expect(job.ctx).toMatchObject({ outputAxis: 1, inputAxis: 2 });
    }
    const res = await runPlan(m, plan);
    const W = lstm.find((w) => w.shape.length === 3 && w.consumers[0].param === '1')!;
    const r = res.get(W.id)!;
    expect(r.status).toBe('compressed');
    const rep = r.repr as AffineRepr;
    expect(rep.kind).toBe('affine');
    expect(rep.scaleShape).toEqual([1, W.shape[1], 1]);
  }, 60_000);
});
