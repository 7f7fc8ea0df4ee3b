/** Test helpers (Node only, imported by *.test.ts): load a fixture and compare it to a golden inspect JSON. */
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../../model/types';

export interface GoldenWeight {
  name: string;
  base_name: string;
  op_type: string;
  shape: number[];
  dtype: string;
  op_chain?: string[];
  storage?: { op_type: string; name: string; inputs: Record<string, { dtype: string; shape: number[]; from?: string; value?: unknown }> }[] | Record<string, unknown>;
  values: { count: number; min: number; max: number; zero_count: number; unique_count: number; sha256_f32le: string };
}

export function sha256f32(a: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

export function stats(a: Float32Array) {
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (v === 0) zeros++;
  }
  const uniq = new Set<number>();
  for (let i = 0; i < a.length; i++) uniq.add(a[i] === 0 ? 0 : a[i]);
  return { count: a.length, min, max, zero_count: zeros, unique_count: uniq.size, sha256_f32le: sha256f32(a) };
}

/** Differences between a loaded model and a golden inspect JSON (empty when they agree). */
export async function compareToGolden(m: LoadedModel, g: { weights: GoldenWeight[] }): Promise<string[]> {
  const diffs: string[] = [];
  const byName = new Map(m.weights.map((w) => [w.name, w]));
  if (m.weights.length !== g.weights.length) diffs.push(`weight count ${m.weights.length} vs golden ${g.weights.length}`);
  for (const gw of g.weights) {
    const w = byName.get(gw.name);
    if (!w) {
      diffs.push(`missing weight ${gw.name}`);
      continue;
    }
    const chk = (what: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${gw.name}: ${what} ${JSON.stringify(a)} vs golden ${JSON.stringify(b)}`);
    };
    chk('base_name', w.baseName, gw.base_name);
    chk('op_type', w.opType, gw.op_type);
    chk('shape', w.shape, gw.shape);
    chk('dtype', w.dtype, gw.dtype);
    chk('count', w.count, gw.values.count);
    if (gw.op_chain) chk('op_chain', w.compression?.opChain, gw.op_chain);
    const v = await m.readFloat32(w.id);
    const s = stats(v);
    for (const k of ['count', 'min', 'max', 'zero_count', 'unique_count', 'sha256_f32le'] as const) chk(`values.${k}`, s[k], gw.values[k]);
  }
  return diffs;
}
