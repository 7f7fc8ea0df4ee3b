import type { Compressed } from '../types';

/** A single per-tensor LUT, the only LUT form a NeuralNetwork WeightParams can hold. */
export function lutRepr(shape: number[], nbits: number, indices: Uint8Array, lut: Float32Array): Compressed {
  return {
    kind: 'lut',
    dtype: 'fp32',
    nbits,
    shape,
    indices,
    indicesShape: shape.slice(),
    lut,
    lutShape: [...shape.map(() => 1), 1 << nbits, 1],
  };
}
