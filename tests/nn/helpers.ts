/** Test helpers (Node only; imported by *.test.ts files, never by the app). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFields, encodeLenField, encodeVarintField, concatBytes } from '../../src/core/proto/wire';
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

// ---- hand-built networks ----

export const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
export const str = (no: number, s: string) => encodeLenField(no, new TextEncoder().encode(s));
export const wpFloats = (...v: number[]) => encodeLenField(1, f32(...v));

export function innerProduct(name: string, out: number, inp: number, w: number[], b?: number[]): Uint8Array {
  const params = concatBytes([
    encodeVarintField(1, inp),
    encodeVarintField(2, out),
    ...(b ? [encodeVarintField(10, 1)] : []),
    encodeLenField(20, wpFloats(...w)),
    ...(b ? [encodeLenField(21, wpFloats(...b))] : []),
  ]);
  return encodeLenField(1, concatBytes([str(1, name), str(2, 'x'), str(3, 'y'), encodeLenField(140, params)]));
}

export function nestedNetwork(): Uint8Array {
  const inner = concatBytes([innerProduct('fc', 2, 2, [1, 2, 3, 4], [5, 6])]);
  const branch = encodeLenField(
    1,
    concatBytes([str(1, 'br'), encodeLenField(605, concatBytes([encodeLenField(1, inner), encodeLenField(2, inner)]))]),
  );
  return concatBytes([innerProduct('fc', 1, 3, [7, 8, 9]), branch]);
}

