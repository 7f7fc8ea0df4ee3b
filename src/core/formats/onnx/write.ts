/**
 * ONNX writer: splices the model at the wire level (every field it does not change is copied byte for byte),
 * replacing each compressed weight with a dequantization chain (emit.ts) or a sparse initializer, in the
 * graph (main or If/Loop/Scan body) where the weight lives. External data is inlined into a single .onnx.
 */
import type { Compressed, WeightResult } from '../../compress/types';
import { ShrinkrayError } from '../../errors';
import type { LoadedModel, OutputFile, WrittenModel } from '../../model/types';
import { encodeLenField, encodeVarintField, readFields } from '../../proto/wire';
import type { WriteOptions } from '../write';
import { Chain, Names, tensorPayload, valueInfoPayload } from './build';
import { DT, dtypeName, isFloatDtype } from './dtypes';
import type { EmitEnv } from './emit';
import { emitWeight } from './emit-weight';
import { allGraphs, allNames, collectUses, type GraphRec } from './graph';
import type { OnnxInternal, TensorSource, WeightRec } from './index';
import { emitParts, lenFieldParts, partSize, partsSize, rangePart, type Part } from './parts';
import { STRIP_FIELD } from './scan';
import { onnxType } from './schema';
import { markerOf } from './tensor';
import { decompress } from '../../compress/decompress';

const TWO_GB = 2 ** 31 - 1;

interface NewTensor {
  name: string;
  dt: number;
  dims: number[];
  data: Uint8Array;
}

/** The external data file being assembled: tensors at 4096-aligned offsets. */
class ExternalSink {
  parts: Part[] = [];
  size = 0;
  constructor(
    readonly location: string,
    readonly min: number,
  ) {}
  add(data: Part): number {
    const pad = (4096 - (this.size % 4096)) % 4096;
    if (pad) this.parts.push(new Uint8Array(pad));
    const offset = this.size + pad;
    this.parts.push(data);
    this.size = offset + partSize(data);
    return offset;
  }
  /** TensorProto fields that point at `data` placed in the sink. */
  fields(data: Part): Part[] {
    const offset = this.add(data);
    const E = onnxType('StringStringEntryProto');
    const kv = (key: string, value: string) => encodeLenField(13, E.encode({ key, value }).finish());
    return [kv('location', this.location), kv('offset', String(offset)), kv('length', String(partSize(data))), encodeVarintField(14, 1)];
  }
}

export interface WriteTuning {
  /** write external data when the single file would exceed this many bytes (default: 2 GB - 1) */
  externalAbove?: number;
  /** tensors with at least this many data bytes go to the external file (default 1024, as onnx.save) */
  externalMin?: number;
}

interface GraphPlan {
  removeInit: Set<number>;
  removeSparse: Set<number>;
  removeNodes: Set<number>;
  removeInputs: Set<string>;
  /** encoded nodes to place before node index k (or at the front: -1) */
  insert: Map<number, Uint8Array[]>;
  newInits: NewTensor[];
  newSparse: Part[][];
  newInputs: Uint8Array[];
  /** member tensors of replaced weights; removed if nothing else reads them */
  maybeRemove: Set<string>;
}

function emptyPlan(): GraphPlan {
  return {
    removeInit: new Set(),
    removeSparse: new Set(),
    removeNodes: new Set(),
    removeInputs: new Set(),
    insert: new Map(),
    newInits: [],
    newSparse: [],
    newInputs: [],
    maybeRemove: new Set(),
  };
}

function outDtOf(r: WeightRec): number {
  if (r.kind === 'dq') return r.dq!.outDt;
  if (r.kind === 'nbits') return r.nbits!.scales.dt;
  if (r.kind === 'chain') return r.meta!.k === 'fp16' ? (r.meta!.dtype === 'fp16' ? DT.FLOAT16 : DT.FLOAT) : r.meta!.dtype === 'fp16' ? DT.FLOAT16 : DT.FLOAT;
  const s = r.source!;
  return s.kind === 'init' || s.kind === 'const' ? s.ref.dt : s.values.dt;
}

function sourceIndex(s: TensorSource | undefined): { init?: number; sparse?: number; node?: number } {
  if (!s) return {};
  if (s.kind === 'init') return { init: s.index };
  if (s.kind === 'sparse') return { sparse: s.index };
  return { node: s.nodeIndex };
}

export async function writeOnnx(
  model: LoadedModel,
  results: Map<string, WeightResult>,
  opts: WriteOptions,
  tuning: WriteTuning = {},
): Promise<WrittenModel> {
  const internal = model.internal as OnnxInternal;
  if (!internal || !(internal.bytes instanceof Uint8Array) || !internal.main) {
    throw new ShrinkrayError('internal', `${model.summary.fileName}: not a model loaded by the ONNX reader`);
  }
  const file = internal.modelPath;
  const env: EmitEnv = { opset: internal.opset, ir: internal.irVersion, file };
  const names = new Names(allNames(internal.main));
  const plans = new Map<GraphRec, GraphPlan>();
  const planOf = (g: GraphRec) => {
    let p = plans.get(g);
    if (!p) plans.set(g, (p = emptyPlan()));
    return p;
  };
  const notes: string[] = [];

  for (const [id, res] of results) {
    if (res.status !== 'compressed' || !res.repr) continue;
    const r = internal.weights.get(id);
    if (!r) throw new ShrinkrayError('internal', `${file}: result for unknown weight ${id}`, file);
    if (r.kind === 'nbits') {
      throw new ShrinkrayError('invalid-option', `${file}: ${r.name} is already stored for com.microsoft.MatMulNBits; re-compressing it is not supported`, file);
    }
    const outDt = outDtOf(r);
    if (!isFloatDtype(outDt) || (outDt !== DT.FLOAT && outDt !== DT.FLOAT16 && env.opset < 13)) {
      throw new ShrinkrayError('invalid-option', `${file}: weight ${r.name} is ${dtypeName(outDt)}: only float weights can be compressed`, file);
    }
    const g = r.graph;
    const plan = planOf(g);
    // take the old storage out
    const idx = sourceIndex(r.source);
    if (idx.init !== undefined) plan.removeInit.add(idx.init);
    if (idx.sparse !== undefined) plan.removeSparse.add(idx.sparse);
    for (const k of r.memberNodes) plan.removeNodes.add(k);
    for (const t of r.memberTensors) plan.maybeRemove.add(t);
    if (!g.parent) {
      plan.removeInputs.add(r.name);
      for (const t of r.memberTensors) plan.removeInputs.add(t);
    }
    const at = r.memberNodes.length ? Math.min(...r.memberNodes) : -1;
    const c = new Chain(names, r.name.replace(/[^A-Za-z0-9_.:/-]/g, '_'));
    const em = emitWeight(c, { name: r.name, count: r.info.count, outDt, inSubgraph: !!g.parent }, res.repr, env);
    if (em.note) notes.push(em.note);
    if (em.sparse) plan.newSparse.push(em.sparse);
    if (c.nodes.length) {
      const list = plan.insert.get(at) ?? [];
      list.push(...c.encodeNodes());
      plan.insert.set(at, list);
    }
    plan.newInits.push(...c.inits);
    if (env.ir < 4 && !g.parent) for (const t of c.inits) plan.newInputs.push(valueInfoPayload(t.name, t.dt, t.dims));
  }

  // member tensors nobody else reads any more
  for (const [g, plan] of plans) {
    if (!plan.maybeRemove.size) continue;
    const uses = collectUses(g, new Map([[g, plan.removeNodes]]));
    const srcs = internal.sources.get(g)!;
    for (const t of plan.maybeRemove) {
      if ((uses.get(t) ?? []).length) continue;
      const idx = sourceIndex(srcs.get(t));
      if (idx.init !== undefined) plan.removeInit.add(idx.init);
      if (idx.sparse !== undefined) plan.removeSparse.add(idx.sparse);
      if (idx.node !== undefined) plan.removeNodes.add(idx.node);
      if (!g.parent) plan.removeInputs.add(t);
    }
  }

  const base = file.split('/').pop()!.replace(/\.onnx$/i, '');
  const name = `${base}.${opts.tag ?? 'compressed'}.onnx`;
  const top = readFields(internal.bytes);
  const assemble = (sink?: ExternalSink): Part[] => {
    const graphParts = rewriteGraph(internal.main, plans, internal, sink);
    const parts: Part[] = [];
    for (const f of top) {
      if (f.no === 7) parts.push(...lenFieldParts(7, graphParts));
      else parts.push(internal.bytes.subarray(f.start, f.end));
    }
    return parts;
  };
  let parts = assemble();
  let size = partsSize(parts);
  const files: OutputFile[] = [];
  if (size > (tuning.externalAbove ?? TWO_GB)) {
    const sink = new ExternalSink(`${name}.data`, tuning.externalMin ?? 1024);
    parts = assemble(sink);
    size = partsSize(parts);
    if (size > TWO_GB) {
      throw new ShrinkrayError('invalid-option', `${file}: even with external data the graph would take ${size} bytes, over the 2 GB protobuf limit`, file);
    }
    const dataParts = sink.parts;
    files.push({ path: sink.location, size: sink.size, chunks: () => emitParts(dataParts) });
    notes.push(`the model is written with external data: ${name} plus ${sink.location} (${sink.size} bytes); keep them in the same folder`);
  }
  const finalParts = parts;
  files.unshift({ path: name, size, chunks: () => emitParts(finalParts) });
  return { format: 'onnx', name, files, ...(notes.length ? { notes } : {}) };
}

function needsRewrite(g: GraphRec, plans: Map<GraphRec, GraphPlan>, internal: OnnxInternal, sink?: ExternalSink): boolean {
  if (sink || internal.stripped.length) return true;
  for (const x of allGraphs(g)) {
    if (plans.has(x)) return true;
    for (const s of internal.sources.get(x)!.values()) {
      if ((s.kind === 'init' || s.kind === 'const') && s.ref.external) return true;
    }
  }
  return false;
}

/**
 * A TensorProto whose data is moved: external data inlined as raw_data (read lazily, in pieces), or, with a
 * sink, raw data of at least sink.min bytes moved to the external file.
 */
function placeTensor(wire: Uint8Array, s: TensorSource | undefined, internal: OnnxInternal, sink?: ExternalSink): Part[] {
  const ref = s && (s.kind === 'init' || s.kind === 'const') ? s.ref : undefined;
  const mark = markerOf(wire);
  const raw = ref?.decoded.raw_data;
  let data: Part | undefined;
  if (mark >= 0) {
    const st = internal.stripped[mark];
    data = rangePart((o, l) => internal.src.read(o, l), st.offset, st.length);
  } else if (ref?.external && !ref.external.inModel) {
    const ext = ref.external;
    data = rangePart((o, l) => ext.src.read(o, l), ext.offset, ext.length);
  } else if (sink && raw && raw.length >= sink.min) data = raw;
  if (!data) return [wire];
  const toSink = !!sink && partSize(data) >= sink.min;
  const parts: Part[] = [];
  let placed = false;
  for (const f of readFields(wire)) {
    if (f.no === 13 || f.no === 14) continue;
    if (f.no === 9 || f.no === STRIP_FIELD) {
      // raw_data goes back where it was, so that an untouched tensor keeps its bytes
      if (!toSink && !placed) parts.push(...lenFieldParts(9, [data]));
      placed = true;
      continue;
    }
    parts.push(wire.subarray(f.start, f.end));
  }
  if (toSink) parts.push(...sink!.fields(data));
  else if (!placed) parts.push(...lenFieldParts(9, [data]));
  return parts;
}

function newTensor(t: NewTensor, sink?: ExternalSink): Part[] {
  if (!sink || t.data.length < sink.min) return tensorPayload(t.name, t.dt, t.dims, t.data);
  const head = onnxType('TensorProto').encode({ dims: t.dims, data_type: t.dt, name: t.name }).finish();
  return [head, ...sink.fields(t.data)];
}

function rewriteGraph(g: GraphRec, plans: Map<GraphRec, GraphPlan>, internal: OnnxInternal, sink?: ExternalSink): Part[] {
  if (!needsRewrite(g, plans, internal, sink)) return [g.bytes];
  const plan = plans.get(g) ?? emptyPlan();
  const srcs = internal.sources.get(g)!;
  const inits = g.decoded.initializer ?? [];
  const inputs = g.decoded.input ?? [];
  const out: Part[] = [];
  let nodeK = 0;
  let initK = 0;
  let sparseK = 0;
  let inputK = 0;
  let frontDone = false;
  const front = () => {
    if (frontDone) return;
    frontDone = true;
    for (const n of plan.insert.get(-1) ?? []) out.push(...lenFieldParts(1, [n]));
  };
  for (const f of g.fields) {
    const whole = g.bytes.subarray(f.start, f.end);
    const payload = g.bytes.subarray(f.dataStart, f.dataEnd);
    switch (f.no) {
      case 1: {
        const k = nodeK++;
        front();
        for (const n of plan.insert.get(k) ?? []) out.push(...lenFieldParts(1, [n]));
        if (plan.removeNodes.has(k)) break;
        const subs = g.subgraphs.get(k);
        if (subs && subs.some((s) => needsRewrite(s.graph, plans, internal, sink))) out.push(...lenFieldParts(1, rewriteNode(payload, k, g, plans, internal, sink)));
        else {
          const node = g.decoded.node![k];
          const s = node.op_type === 'Constant' ? srcs.get(node.output?.[0] ?? '') : undefined;
          if (node.op_type === 'Constant' && (internal.stripped.length || (s && s.kind === 'const' && s.ref.external))) {
            out.push(...lenFieldParts(1, rewriteConstant(payload, s, internal)));
          }
          else out.push(whole);
        }
        break;
      }
      case 5: {
        const k = initK++;
        if (plan.removeInit.has(k)) break;
        const s = srcs.get(inits[k].name ?? '');
        out.push(...lenFieldParts(5, placeTensor(payload, s, internal, sink)));
        break;
      }
      case 15: {
        const k = sparseK++;
        if (!plan.removeSparse.has(k)) out.push(whole);
        break;
      }
      case 11: {
        const k = inputK++;
        if (!plan.removeInputs.has(inputs[k]?.name ?? '')) out.push(whole);
        break;
      }
      default:
        out.push(whole);
    }
  }
  front();
  for (const t of plan.newInits) out.push(...lenFieldParts(5, newTensor(t, sink)));
  for (const t of plan.newSparse) out.push(...lenFieldParts(15, t));
  for (const v of plan.newInputs) out.push(...lenFieldParts(11, [v]));
  return out;
}

/** A Constant node whose `value` tensor has external data: inlined (Constant values always stay in the graph). */
function rewriteConstant(nodeBytes: Uint8Array, s: TensorSource | undefined, internal: OnnxInternal): Part[] {
  const out: Part[] = [];
  for (const f of readFields(nodeBytes)) {
    const ab = nodeBytes.subarray(f.dataStart, f.dataEnd);
    const af = f.no === 5 ? readFields(ab) : [];
    const nameF = af.find((x) => x.no === 1);
    const isValue = nameF && new TextDecoder().decode(ab.subarray(nameF.dataStart, nameF.dataEnd)) === 'value';
    if (!isValue) {
      out.push(nodeBytes.subarray(f.start, f.end));
      continue;
    }
    const parts: Part[] = [];
    for (const x of af) {
      if (x.no === 5) parts.push(...lenFieldParts(5, placeTensor(ab.subarray(x.dataStart, x.dataEnd), s, internal)));
      else parts.push(ab.subarray(x.start, x.end));
    }
    out.push(...lenFieldParts(5, parts));
  }
  return out;
}

function rewriteNode(nodeBytes: Uint8Array, k: number, g: GraphRec, plans: Map<GraphRec, GraphPlan>, internal: OnnxInternal, sink?: ExternalSink): Part[] {
  const subs = g.subgraphs.get(k) ?? [];
  const out: Part[] = [];
  let attrK = 0;
  for (const f of readFields(nodeBytes)) {
    if (f.no !== 5) {
      out.push(nodeBytes.subarray(f.start, f.end));
      continue;
    }
    const j = attrK++;
    const mine = subs.filter((s) => s.attrIndex === j);
    if (!mine.length) {
      out.push(nodeBytes.subarray(f.start, f.end));
      continue;
    }
    const ab = nodeBytes.subarray(f.dataStart, f.dataEnd);
    const parts: Part[] = [];
    let gk = 0;
    for (const af of readFields(ab)) {
      if (af.no === 6) {
        const s = mine.find((x) => x.slot.kind === 'g')!;
        parts.push(...lenFieldParts(6, rewriteGraph(s.graph, plans, internal, sink)));
      } else if (af.no === 11) {
        const kk = gk++;
        const s = mine.find((x) => x.slot.kind === 'graphs' && x.slot.k === kk)!;
        parts.push(...lenFieldParts(11, rewriteGraph(s.graph, plans, internal, sink)));
      } else parts.push(ab.subarray(af.start, af.end));
    }
    out.push(...lenFieldParts(5, parts));
  }
  return out;
}

/** Decompressed float values of a representation (what the written chain computes), with the engine's semantics. */
export function reprToFloat(rep: Compressed): Float32Array {
  if (rep.kind === 'nnlinear') throw new Error('no ONNX form for nnlinear');
  return decompress(rep);
}
