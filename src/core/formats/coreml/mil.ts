/**
 * Walking an ML program: every function and nested block, const / constexpr producers, compute-op
 * consumers, and the weights (formats.md §9.1; golden inspect rules: a float tensor with ≥ 1 element that a
 * compute op consumes, either a plain `const` or the last op of a constexpr chain; scalars and int consts skipped).
 */
import type { Consumer } from '../../model/types';
import type { PBlock, POperation, PProgram, PValue } from './schema';
import { BY_NAME } from './dtypes';
import { dimsOf, dtypeOf, immediateRaw, prod, rawNumbers } from './values';

/** A tensor stored in the program: immediate bytes (blob layout) or a blob reference. */
export interface StoredValue {
  dtype: string;
  shape: number[];
  count: number;
  raw?: Uint8Array;
  blob?: { fileName: string; offset: number };
}

export interface Param {
  value?: StoredValue;
  /** name of the var (another constexpr's output) the param is bound to */
  from?: string;
}

export interface MilOp {
  type: string;
  name: string;
  outputs: { name: string; dtype: string; shape: number[] }[];
  params: Record<string, Param>;
  /** parameters serialized as inputs (iOS18 style) rather than attributes */
  inputStyle: boolean;
  /** function + nested block path */
  scope: string;
  fn: string;
  raw: POperation;
}

export interface MilWeight {
  fn: string;
  scope: string;
  /** var the compute op reads */
  name: string;
  /** const op, or constexpr ops first → last */
  chain: MilOp[];
  consumers: Consumer[];
  dtype: string;
  shape: number[];
}

const FLOAT = new Set(['fp16', 'fp32', 'bf16', 'fp64']);

export const isConstexpr = (t: string) => t.startsWith('constexpr_');

export function opName(o: POperation): string {
  const n = o.attributes?.name?.immediateValue?.tensor?.strings?.values?.[0];
  return n ?? o.outputs?.[0]?.name ?? o.type;
}

export function storedValue(v: PValue): StoredValue | undefined {
  const dtype = dtypeOf(v.type);
  const shape = dimsOf(v.type);
  if (!dtype || !shape || shape.some((d) => d < 0) || !BY_NAME.has(dtype)) return undefined;
  const count = prod(shape);
  if (v.blobFileValue) {
    const off = v.blobFileValue.offset;
    return { dtype, shape, count, blob: { fileName: v.blobFileValue.fileName, offset: typeof off === 'number' ? off : Number(off) } };
  }
  const t = v.immediateValue?.tensor;
  if (!t) return undefined;
  if (dtype === 'string') return { dtype, shape, count, raw: new Uint8Array(0) };
  return { dtype, shape, count, raw: immediateRaw(t, dtype, count) };
}

function toMilOp(o: POperation, fn: string, scope: string): MilOp {
  const params: Record<string, Param> = {};
  const inputNames = Object.keys(o.inputs ?? {});
  const inputStyle = inputNames.length > 0;
  if (inputStyle) {
    for (const k of inputNames) {
      const b = o.inputs[k].arguments?.[0];
      if (!b) continue;
      if (b.name !== undefined && b.name !== '') params[k] = { from: b.name };
      else if (b.value) params[k] = { value: storedValue(b.value) };
    }
  } else {
    for (const [k, v] of Object.entries(o.attributes ?? {})) {
      if (k === 'name') continue;
      params[k] = { value: storedValue(v) };
    }
  }
  return {
    type: o.type,
    name: opName(o),
    outputs: (o.outputs ?? []).map((x) => ({ name: x.name, dtype: dtypeOf(x.type) ?? '?', shape: dimsOf(x.type) ?? [] })),
    params,
    inputStyle,
    scope,
    fn,
    raw: o,
  };
}

export interface ProgramIndex {
  functions: string[];
  opsets: string[];
  weights: MilWeight[];
  /** every const/constexpr op that stores a blob, with the blobs it references */
  blobRefs: { op: MilOp; param: string; value: StoredValue }[];
}

/** The block a function runs: block_specializations[opset] (else the only one). */
export function mainBlock(f: { opset: string; block_specializations: Record<string, PBlock> }): PBlock | undefined {
  const bs = f.block_specializations ?? {};
  return bs[f.opset] ?? Object.values(bs)[0];
}

export function indexProgram(prog: PProgram): ProgramIndex {
  const functions = Object.keys(prog.functions ?? {});
  const opsets: string[] = [];
  const weights: MilWeight[] = [];
  const blobRefs: ProgramIndex['blobRefs'] = [];
  for (const fn of functions) {
    const f = prog.functions[fn];
    opsets.push(f.opset);
    const producers = new Map<string, MilOp>();
    const consumers = new Map<string, Consumer[]>();
    const order: MilOp[] = [];
    const walk = (b: PBlock, scope: string) => {
      for (const o of b.operations ?? []) {
        if (o.type === 'const' || isConstexpr(o.type)) {
          const m = toMilOp(o, fn, scope);
          order.push(m);
          for (const out of m.outputs) producers.set(out.name, m);
          for (const [k, p] of Object.entries(m.params)) if (p.value?.blob) blobRefs.push({ op: m, param: k, value: p.value });
        } else {
          const name = opName(o);
          const attrs = opAttrs(o, producers);
          for (const [param, arg] of Object.entries(o.inputs ?? {})) {
            for (const bnd of arg.arguments ?? []) {
              if (!bnd.name) continue;
              let list = consumers.get(bnd.name);
              if (!list) consumers.set(bnd.name, (list = []));
              list.push(attrs ? { name, type: o.type, param, attrs } : { name, type: o.type, param });
            }
          }
        }
        (o.blocks ?? []).forEach((nb, i) => walk(nb, `${scope}/${opName(o)}${o.blocks.length > 1 ? `[${i}]` : ''}`));
      }
    };
    const block = mainBlock(f);
    if (!block) continue;
    walk(block, fn);
    for (const m of order) {
      for (const out of m.outputs) {
        const cons = consumers.get(out.name);
        if (!cons?.length) continue;
        if (!FLOAT.has(out.dtype) || out.shape.length === 0 || out.shape.some((d) => d < 0) || prod(out.shape) < 1) continue;
        if (m.type === 'const' && !m.params.val?.value) continue;
        weights.push({ fn, scope: m.scope, name: out.name, chain: chainOf(m, producers), consumers: cons, dtype: out.dtype, shape: out.shape });
      }
    }
  }
  return { functions, opsets, weights, blobRefs };
}

/** Scalar params the engine reads for channel axes (formats.md §7.5): matmul transposes, conv groups. */
const ATTR_PARAMS = ['transpose_x', 'transpose_y', 'groups'];

/**
 * Those params of a compute op, from the const each is bound to or from an immediate value in the binding:
 * bools as booleans, integers as numbers. Undefined when the op has none.
 */
function opAttrs(o: POperation, producers: Map<string, MilOp>): Record<string, number | boolean> | undefined {
  let out: Record<string, number | boolean> | undefined;
  for (const k of ATTR_PARAMS) {
    const b = o.inputs?.[k]?.arguments?.[0];
    if (!b) continue;
    let v: StoredValue | undefined;
    if (b.name) {
      const p = producers.get(b.name);
      v = p && p.type === 'const' ? p.params.val?.value : undefined;
    } else if (b.value) v = storedValue(b.value);
    if (!v?.raw || v.count !== 1) continue;
    const x = rawNumbers(v.raw, v.dtype, 1)[0];
    if (!Number.isFinite(x)) continue;
    (out ??= {})[k] = v.dtype === 'bool' ? x !== 0 : x;
  }
  return out;
}

/** The constexpr ops (or the const) that produce `last`, in program order, first → last. */
function chainOf(last: MilOp, producers: Map<string, MilOp>): MilOp[] {
  if (last.type === 'const') return [last];
  const seen = new Set<MilOp>();
  const out: MilOp[] = [];
  const visit = (m: MilOp) => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const p of Object.values(m.params)) {
      if (!p.from) continue;
      const src = producers.get(p.from);
      if (src && isConstexpr(src.type)) visit(src);
      else if (src && src.type === 'const') {
        // a const feeding a constexpr by name: its value becomes the param's value
        p.value = src.params.val?.value;
      }
    }
    out.push(m);
  };
  visit(last);
  return out;
}
