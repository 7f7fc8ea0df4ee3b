/** Test helpers (Node only, imported by *.test.ts): load a fixture and compare it to a golden inspect JSON. */
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../../src/core/model/types';
import type { CoreMLInternal } from '../../src/core/formats/coreml/index';

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


/** The golden `storage` list of a weight, rebuilt from the loaded chain (op type, name, input dtypes/shapes/from). */
export function storageOf(m: LoadedModel, id: string) {
  const e = (m.internal as CoreMLInternal).entries.get(id);
  if (!e || e.kind !== 'mil') return undefined;
  const chain = e.w.chain;
  if (chain.length === 1 && chain[0].type === 'const') return undefined;
  return chain.map((op) => {
    const inputs: Record<string, { dtype: string; shape: number[]; from?: string }> = {};
    for (const [k, p] of Object.entries(op.params)) {
      const src = p.from ? chain.find((o) => o.outputs.some((x) => x.name === p.from)) : undefined;
      if (src) {
        const out = src.outputs.find((x) => x.name === p.from)!;
        inputs[k] = { dtype: out.dtype, shape: out.shape, from: src.type };
      } else if (p.value) inputs[k] = { dtype: p.value.dtype, shape: p.value.shape };
    }
    return { op_type: op.type, name: op.name, inputs };
  });
}

/** Differences between a weight's chain and the golden storage description. */
export function storageDiffs(m: LoadedModel, id: string, gw: GoldenWeight): string[] {
  const mine = storageOf(m, id);
  const gold = Array.isArray(gw.storage) ? gw.storage : undefined;
  if (!gold) return mine ? [`${gw.name}: has a chain, golden has none`] : [];
  if (!mine) return [`${gw.name}: no chain, golden has ${gold.length} ops`];
  const d: string[] = [];
  if (mine.length !== gold.length) d.push(`${gw.name}: chain of ${mine.length} ops vs ${gold.length}`);
  gold.forEach((g, i) => {
    const s = mine[i];
    if (!s) return;
    if (s.op_type !== g.op_type) d.push(`${gw.name}[${i}]: op ${s.op_type} vs ${g.op_type}`);
    if (s.name !== g.name) d.push(`${gw.name}[${i}]: name ${s.name} vs ${g.name}`);
    const keys = new Set([...Object.keys(s.inputs), ...Object.keys(g.inputs)]);
    for (const k of keys) {
      const a = s.inputs[k];
      const b = g.inputs[k];
      if (!a || !b) {
        d.push(`${gw.name}[${i}].${k}: ${a ? 'extra' : 'missing'}`);
        continue;
      }
      if (a.dtype !== b.dtype || JSON.stringify(a.shape) !== JSON.stringify(b.shape) || (a.from ?? null) !== (b.from ?? null)) {
        d.push(`${gw.name}[${i}].${k}: ${a.dtype}${JSON.stringify(a.shape)}<${a.from ?? ''} vs ${b.dtype}${JSON.stringify(b.shape)}<${b.from ?? ''}`);
      }
    }
  });
  return d;
}

/** Op types of every block in program order (nested blocks inline), for "same ops in the same places". */
export function opSequence(m: LoadedModel): string[] {
  const internal = m.internal as CoreMLInternal;
  const out: string[] = [];
  const walk = (b: { operations?: { type: string; blocks?: unknown[] }[] }) => {
    for (const o of b.operations ?? []) {
      out.push(o.type);
      for (const nb of (o.blocks ?? []) as typeof b[]) walk(nb);
    }
  };
  const visit = (n: CoreMLInternal['root']) => {
    if (n.program) {
      for (const f of Object.values(n.program.prog.functions)) {
        const b = f.block_specializations[f.opset] ?? Object.values(f.block_specializations)[0];
        walk(b as never);
      }
    }
    n.children?.forEach(visit);
  };
  visit(internal.root);
  return out;
}
