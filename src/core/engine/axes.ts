/** Output / input channel axes of a weight from its consumers (formats.md §7.5, coremltools select_input_output_channel_axis). */
import type { Consumer, WeightInfo } from '../model/types';

export interface Axes {
  outputAxis: number;
  inputAxis: number;
}

function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

/** Axes for one consumer, as non-negative axes for a weight of the given rank. */
export function consumerAxes(c: Consumer, rank: number): Axes {
  let out = 0;
  let inp = 1;
  const t = c.type;
  const a = c.attrs ?? {};
  if (t === 'conv_transpose' || t === 'ConvTranspose') {
    out = 1;
    inp = 0;
  } else if (t === 'matmul') {
    if (c.param === 'y') {
      [out, inp] = truthy(a.transpose_y) ? [-2, -1] : [-1, -2];
    } else {
      [out, inp] = truthy(a.transpose_x) ? [-1, -2] : [-2, -1];
    }
  } else if (t === 'MatMul') {
    // ONNX: A [.., M, K] @ B [.., K, N]
    [out, inp] = c.param === '1' ? [-1, -2] : [-2, -1];
  } else if (t === 'Gemm') {
    // A [M, K] (transA: [K, M]) @ B [K, N] (transB: [N, K])
    if (c.param === '1') [out, inp] = truthy(a.transB) ? [0, 1] : [1, 0];
    else if (c.param === '0') [out, inp] = truthy(a.transA) ? [1, 0] : [0, 1];
  } else if (t === 'LSTM' || t === 'GRU' || t === 'RNN') {
    // ONNX recurrent ops: W [num_directions, G*H, I] and R [num_directions, G*H, H] (gate rows, then the
    // input / hidden features they read); B [num_directions, 2*G*H]
    if (c.param === '1' || c.param === '2') [out, inp] = [1, 2];
    else if (c.param === '3') [out, inp] = [1, 0];
  }
  if (out < 0) out += rank;
  if (inp < 0) inp += rank;
  return { outputAxis: out, inputAxis: inp };
}

/** Agreed axes over all consumers, or a reason why they disagree. */
export function weightAxes(w: WeightInfo): Axes | { reason: string } {
  const rank = w.shape.length;
  if (w.consumers.length === 0) return { outputAxis: 0, inputAxis: Math.min(1, rank - 1) };
  const all = w.consumers.map((c) => consumerAxes(c, rank));
  for (const x of all.slice(1)) {
    if (x.outputAxis !== all[0].outputAxis || x.inputAxis !== all[0].inputAxis) {
      return { reason: `its consumers need different channel axes (${w.consumers.map((c) => c.type).join(', ')})` };
    }
  }
  return all[0];
}

/** Structured pruning (block, n:m) applies only to conv / linear weights. */
export function isConvOrLinearWeight(w: WeightInfo): boolean {
  return (
    w.consumers.length > 0 &&
    w.consumers.every(
      (c) =>
        ((c.type === 'conv' || c.type === 'linear') && c.param === 'weight') ||
        ((c.type === 'Conv' || c.type === 'Gemm') && c.param === '1'),
    )
  );
}

/** conv groups (for the vector-palettization channel check). */
export function convGroups(w: WeightInfo): number {
  let g = 1;
  for (const c of w.consumers) {
    const v = c.attrs?.groups ?? c.attrs?.group;
    if (typeof v === 'number' && v > g) g = v;
  }
  return g;
}
