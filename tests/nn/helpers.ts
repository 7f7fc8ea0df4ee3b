/** Test helpers (Node only; imported by *.test.ts files, never by the app). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFields } from '../../src/core/proto/wire';
import { fixture } from '../fixtures';

/** Model-level field numbers of the three neural-network kinds. */
export const NN_FIELDS = [500, 403, 303];

/** The bytes of a .mlmodel file and the [start, end) of its NeuralNetwork message. */
export function loadNN(...parts: string[]): { model: Uint8Array; nn: Uint8Array; no: number; start: number; end: number } {
  const model = new Uint8Array(readFileSync(fixture(...parts)));
  const f = readFields(model).find((x) => NN_FIELDS.includes(x.no) && x.wt === 2);
  if (!f) throw new Error(`${parts.join('/')}: no neural network at the top level`);
  return { model, nn: model.subarray(f.dataStart, f.dataEnd), no: f.no, start: f.dataStart, end: f.dataEnd };
}

export function sha256f32(v: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
}

/** Sum of squared differences in float64. */
export function sse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}
