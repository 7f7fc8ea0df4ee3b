/**
 * ONNX reader: initializers (raw and typed fields, external data), Constant nodes, sparse initializers and
 * everything inside If/Loop/Scan bodies at any depth; DequantizeLinear on a stored tensor and Shrinkray's own
 * dequantization chains are shown as compressed weights.
 */
import type { Compressed } from '../../compress/types';
import { ShrinkrayError } from '../../errors';
import type { ByteSource, FileTree } from '../../io/source';
import type { Consumer, DenseTensor, LoadedModel, ModelSummary, WeightInfo } from '../../model/types';
import { readFields } from '../../proto/wire';
import { f16View } from '../../tensor/fp16';
import type { Detected } from '../detect';
import { dtypeName, isFloatDtype, rawToFloat32 } from './dtypes';
import { allGraphs, buildGraph, collectUses, nodeLabel, type GraphRec, type Use } from './graph';
import { parseMeta, type ChainMeta } from './meta';
import { compactModel, type Compacted, type StrippedData } from './scan';
import { findMatMulNBits, readNBitsRepr, type NBitsInfo } from './nbits';
import { decompress } from '../../compress/decompress';
import { readChainRepr, readDqRepr, readSparseRepr, type DqInfo } from './read-repr';
import { num, onnxType, type ModelP, type NodeP, type SparseTensorP, type TensorP } from './schema';
import { makeTensorRef, readRaw, type TensorContext, type TensorRef } from './tensor';

/** Where a named tensor of a graph comes from. */
export type TensorSource =
  | { kind: 'init'; index: number; ref: TensorRef }
  | { kind: 'const'; nodeIndex: number; ref: TensorRef }
  | { kind: 'sparse'; index: number; values: TensorRef; indices: TensorRef; dims: number[] }
  | { kind: 'sparse-const'; nodeIndex: number; values: TensorRef; indices: TensorRef; dims: number[] };

export interface WeightRec {
  info: WeightInfo;
  graph: GraphRec;
  /** the tensor name consumers read */
  name: string;
  kind: 'dense' | 'sparse' | 'dq' | 'chain' | 'nbits';
  source?: TensorSource;
  dq?: DqInfo;
  nbits?: NBitsInfo;
  meta?: ChainMeta;
  /** nodes of this graph that belong to the weight (Constant node, DQ node, chain nodes) */
  memberNodes: number[];
  /** initializer / Constant names that belong to the weight */
  memberTensors: string[];
}

export interface GraphSources {
  graph: GraphRec;
  sources: Map<string, TensorSource>;
}

export interface OnnxInternal {
  /** the model's protobuf with big raw_data payloads left in the file (scan.ts) */
  bytes: Uint8Array;
  src: ByteSource;
  stripped: StrippedData[];
  modelPath: string;
  model: ModelP;
  main: GraphRec;
  irVersion: number;
  /** default-domain opset */
  opset: number;
  weights: Map<string, WeightRec>;
  sources: Map<GraphRec, Map<string, TensorSource>>;
}

function decodeModel(bytes: Uint8Array, file: string): ModelP {
  try {
    readFields(bytes); // structural check of the top level: truncation shows here with a byte offset
    return onnxType('ModelProto').decode(bytes) as unknown as ModelP;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShrinkrayError('protobuf-decode', `${file}: not a valid ONNX model: protobuf decode failed (${msg})`, file);
  }
}

function constTensorWire(g: GraphRec, nodeIndex: number, attrName: string): Uint8Array {
  const nf = g.nodeFields[nodeIndex];
  const nb = g.bytes.subarray(nf.dataStart, nf.dataEnd);
  const attrs = readFields(nb).filter((f) => f.no === 5);
  const node = g.decoded.node![nodeIndex];
  const j = node.attribute!.findIndex((a) => a.name === attrName);
  const af = attrs[j];
  const ab = nb.subarray(af.dataStart, af.dataEnd);
  const tf = readFields(ab).find((f) => f.no === (attrName === 'value' ? 5 : 22))!;
  return ab.subarray(tf.dataStart, tf.dataEnd);
}

function sparseParts(sp: SparseTensorP, wire: Uint8Array, ctx: TensorContext, fallbackName: string) {
  const f = readFields(wire);
  const vw = f.find((x) => x.no === 1);
  const iw = f.find((x) => x.no === 2);
  const name = sp.values?.name || fallbackName;
  const values = makeTensorRef(sp.values ?? {}, vw ? wire.subarray(vw.dataStart, vw.dataEnd) : new Uint8Array(), ctx, name);
  const indices = makeTensorRef(sp.indices ?? {}, iw ? wire.subarray(iw.dataStart, iw.dataEnd) : new Uint8Array(), ctx, name + '.indices');
  return { values, indices, dims: (sp.dims ?? []).map(num) };
}

function graphSources(g: GraphRec, ctx: TensorContext): Map<string, TensorSource> {
  const m = new Map<string, TensorSource>();
  (g.decoded.initializer ?? []).forEach((t, index) => {
    const f = g.initFields[index];
    m.set(t.name ?? '', { kind: 'init', index, ref: makeTensorRef(t, g.bytes.subarray(f.dataStart, f.dataEnd), ctx) });
  });
  (g.decoded.sparse_initializer ?? []).forEach((sp, index) => {
    const f = g.sparseFields[index];
    const p = sparseParts(sp, g.bytes.subarray(f.dataStart, f.dataEnd), ctx, `sparse_initializer#${index}`);
    m.set(p.values.name, { kind: 'sparse', index, ...p });
  });
  (g.decoded.node ?? []).forEach((n, nodeIndex) => {
    if (n.op_type !== 'Constant' || (n.domain && n.domain !== 'ai.onnx')) return;
    const out = n.output?.[0];
    if (!out) return;
    const a = (n.attribute ?? []).find((x) => x.name === 'value' || x.name === 'sparse_value');
    if (!a) return; // value_float(s) / value_int(s) / value_string(s): scalars and small lists, not listed
    const wire = constTensorWire(g, nodeIndex, a.name!);
    if (a.name === 'value' && a.t) {
      m.set(out, { kind: 'const', nodeIndex, ref: makeTensorRef(a.t as TensorP, wire, ctx, out) });
    } else if (a.sparse_tensor) {
      const p = sparseParts(a.sparse_tensor, wire, ctx, out);
      m.set(out, { kind: 'sparse-const', nodeIndex, ...p, values: { ...p.values, name: out } });
    }
  });
  return m;
}

function srcRef(s: TensorSource): TensorRef {
  return s.kind === 'init' || s.kind === 'const' ? s.ref : s.values;
}

const QDTYPES = new Set(['int8', 'uint8', 'int4', 'uint4']);

function findDq(g: GraphRec, n: NodeP, i: number, sources: Map<string, TensorSource>): DqInfo | undefined {
  if (n.op_type !== 'DequantizeLinear' || (n.domain && n.domain !== 'ai.onnx')) return undefined;
  const [x, s, z] = n.input ?? [];
  const xs = x ? sources.get(x) : undefined;
  const ss = s ? sources.get(s) : undefined;
  const zs = z ? sources.get(z) : undefined;
  if (!xs || !ss || (z && !zs)) return undefined;
  if (xs.kind !== 'init' && xs.kind !== 'const') return undefined;
  if (ss.kind !== 'init' && ss.kind !== 'const') return undefined;
  if (zs && zs.kind !== 'init' && zs.kind !== 'const') return undefined;
  if (!QDTYPES.has(dtypeName(xs.ref.dt)) || !isFloatDtype(ss.ref.dt)) return undefined;
  const attr = (name: string) => (n.attribute ?? []).find((a) => a.name === name);
  const axisA = attr('axis');
  const blockA = attr('block_size');
  const outA = attr('output_dtype');
  let axis = axisA ? num(axisA.i) : 1;
  const rank = xs.ref.dims.length;
  if (axis < 0) axis += rank;
  const blockSize = blockA ? num(blockA.i) : 0;
  const outDt = outA && num(outA.i) ? num(outA.i) : ss.ref.dt;
  return {
    nodeIndex: i,
    out: n.output?.[0] ?? '',
    x: xs.ref,
    scale: ss.ref,
    zp: zs ? (zs as { ref: TensorRef }).ref : undefined,
    axis,
    blockSize,
    outDt,
    names: [x, s, ...(z ? [z] : [])],
    graph: g,
  };
}

export async function loadOnnx(tree: FileTree, found: Detected): Promise<LoadedModel> {
  const src = found.main;
  if (!src) throw new ShrinkrayError('not-a-model', `${tree.name}: no .onnx file found`, tree.name);
  const file = src.name;
  if (src.size === 0) throw new ShrinkrayError('empty-file', `${file} is empty (0 bytes): not an ONNX model`, file);
  // the protobuf without the big raw_data payloads, which stay in the file and are read on demand
  let compact: Compacted;
  try {
    compact = await compactModel(src);
  } catch (e) {
    if (e instanceof ShrinkrayError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShrinkrayError('protobuf-decode', `${file}: not a valid ONNX model: protobuf decode failed (${msg})`, file);
  }
  const bytes = compact.bytes;
  const model = decodeModel(bytes, file);
  const top = readFields(bytes);
  const gf = top.find((f) => f.no === 7);
  if (!model.graph || !gf) throw new ShrinkrayError('not-a-model', `${file}: ONNX model without a graph`, file);
  const ctx: TensorContext = { tree: found.tree, modelPath: file, main: src, stripped: compact.stripped };
  let main: GraphRec;
  try {
    main = buildGraph(bytes.subarray(gf.dataStart, gf.dataEnd), model.graph, '');
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShrinkrayError('protobuf-decode', `${file}: not a valid ONNX model: ${msg}`, file);
  }
  const irVersion = num(model.ir_version);
  const opsets = (model.opset_import ?? []).map((o) => ({ domain: o.domain ?? '', version: num(o.version) }));
  const opset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;

  const sources = new Map<GraphRec, Map<string, TensorSource>>();
  const weights = new Map<string, WeightRec>();
  const recs: WeightRec[] = [];

  for (const g of allGraphs(main)) {
    const srcs = graphSources(g, ctx);
    sources.set(g, srcs);
    const nodes = g.decoded.node ?? [];
    const nodeIdx = new Map<string, number>();
    nodes.forEach((n, i) => n.name && nodeIdx.set(n.name, i));
    const claimed = new Set<string>();
    const skipNodes = new Set<number>();
    const local: WeightRec[] = [];
    // Shrinkray chains first, then DequantizeLinear on stored tensors
    nodes.forEach((n) => {
      const meta = parseMeta(n.doc_string);
      if (!meta) return;
      const members = meta.nodes.map((x) => nodeIdx.get(x));
      if (members.some((x) => x === undefined) || meta.inits.some((x) => !srcs.has(x))) return;
      members.forEach((x) => skipNodes.add(x!));
      meta.inits.forEach((x) => claimed.add(x));
      local.push({ info: undefined as unknown as WeightInfo, graph: g, name: meta.out, kind: 'chain', meta, memberNodes: members as number[], memberTensors: meta.inits });
    });
    nodes.forEach((n, i) => {
      if (skipNodes.has(i)) return;
      const dq = findDq(g, n, i, srcs);
      if (!dq || claimed.has(dq.names[0])) return;
      skipNodes.add(i);
      dq.names.forEach((x) => claimed.add(x));
      const constNodes = dq.names.map((x) => srcs.get(x)!).filter((s) => s.kind === 'const').map((s) => (s as { nodeIndex: number }).nodeIndex);
      local.push({ info: undefined as unknown as WeightInfo, graph: g, name: dq.out, kind: 'dq', dq, memberNodes: [i, ...constNodes], memberTensors: dq.names });
    });
    // MatMulNBits keeps its weight quantized: the node stays the consumer
    nodes.forEach((n, i) => {
      if (skipNodes.has(i)) return;
      const nb = findMatMulNBits(n, i, srcs);
      if (!nb || nb.names.some((x) => claimed.has(x))) return;
      nb.names.forEach((x) => claimed.add(x));
      local.push({ info: undefined as unknown as WeightInfo, graph: g, name: nb.names[0], kind: 'nbits', nbits: nb, memberNodes: [], memberTensors: nb.names });
    });
    for (const [name, s] of srcs) {
      if (claimed.has(name)) continue;
      const kind = s.kind === 'sparse' || s.kind === 'sparse-const' ? 'sparse' : 'dense';
      const memberNodes = s.kind === 'const' || s.kind === 'sparse-const' ? [s.nodeIndex] : [];
      local.push({ info: undefined as unknown as WeightInfo, graph: g, name, kind, source: s, memberNodes, memberTensors: [name] });
    }
    for (const r of local) for (const x of r.memberNodes) skipNodes.add(x);
    const uses = collectUses(g, new Map([[g, skipNodes]]));
    for (const r of local) {
      r.info = describe(r, uses.get(r.name) ?? [], srcs);
      recs.push(r);
    }
  }
  // stable, unique ids
  for (const r of recs) {
    let id = `onnx/${r.graph.path ? r.graph.path + '/' : ''}${r.name}`;
    for (let k = 2; weights.has(id); k++) id = `onnx/${r.graph.path ? r.graph.path + '/' : ''}${r.name}#${k}`;
    r.info.id = id;
    weights.set(id, r);
  }
  const infos = recs.map((r) => r.info);

  // totals
  const bytesByDtype: Record<string, number> = {};
  let totalParams = 0;
  let totalWeightBytes = 0;
  let ints = 0;
  for (const w of infos) {
    totalParams += w.count;
    totalWeightBytes += w.bytes;
    const key = w.compression ? `${w.compression.kind}` : w.dtype;
    bytesByDtype[key] = (bytesByDtype[key] ?? 0) + w.bytes;
    if (!w.compression && !['fp32', 'fp16'].includes(w.dtype)) ints++;
  }
  // the model file plus every external data file it references (each counted once)
  const extSources = new Map<string, ByteSource>();
  for (const srcs of sources.values())
    for (const s of srcs.values()) {
      const refs = s.kind === 'init' || s.kind === 'const' ? [s.ref] : [s.values, s.indices];
      for (const r of refs) if (r.external && !r.external.inModel) extSources.set(r.external.src.name, r.external.src);
    }
  let fileBytes = src.size;
  for (const x of extSources.values()) fileBytes += x.size;
  const notes: string[] = [];
  if (ints) notes.push(`${ints} tensors that are not fp32/fp16 (integer shapes, indices, other types) are listed but not offered for compression`);
  if (!infos.length) notes.push('this model stores no initializers or Constant tensors: nothing to compress');
  const summary: ModelSummary = {
    format: 'onnx',
    modelType: 'onnx',
    fileName: file,
    fileBytes,
    onnx: { irVersion, opsets, producer: [model.producer_name, model.producer_version].filter(Boolean).join(' ') || undefined },
    weightCount: infos.length,
    totalParams,
    totalWeightBytes,
    bytesByDtype,
    note: notes.length ? notes.join('; ') : undefined,
  };

  const internal: OnnxInternal = { bytes, src, stripped: compact.stripped, modelPath: file, model, main, irVersion, opset, weights, sources };
  const get = (id: string): WeightRec => {
    const r = weights.get(id);
    if (!r) throw new ShrinkrayError('internal', `${file}: no weight with id ${id}`, file);
    return r;
  };

  const readRepr = async (id: string): Promise<Compressed> => {
    const r = get(id);
    if (r.kind === 'dq') return readDqRepr(r.dq!);
    if (r.kind === 'nbits') return readNBitsRepr(r.nbits!);
    if (r.kind === 'chain') return readChainRepr(r.meta!, sources.get(r.graph)!);
    if (r.kind === 'sparse') return readSparseRepr(r.source!, r.info);
    const ref = srcRef(r.source!);
    if (!isFloatDtype(ref.dt)) {
      throw new ShrinkrayError('unsupported-model', `${file}: ${r.name} is ${r.info.dtype}, not a float weight`, file);
    }
    const values = rawToFloat32(ref.dt, await readRaw(ref), ref.count);
    return { kind: 'dense', dtype: ref.dt === 10 ? 'fp16' : 'fp32', shape: ref.dims, values };
  };

  const readFloat32 = async (id: string): Promise<Float32Array> => {
      const r = get(id);
      if (r.kind === 'dense') {
        const ref = srcRef(r.source!);
        return rawToFloat32(ref.dt, await readRaw(ref), ref.count);
      }
      return decompress(await readRepr(id));
  };

  return {
    summary,
    weights: infos,
    internal,
    readFloat32,
    async readDense(id): Promise<DenseTensor> {
      const r = get(id);
      if (r.kind === 'dense') {
        const ref = srcRef(r.source!);
        const raw = await readRaw(ref);
        if (ref.dt === 10) return { dtype: 'fp16', shape: ref.dims, data: f16View(raw.slice()) };
        return { dtype: 'fp32', shape: ref.dims, data: rawToFloat32(ref.dt, raw, ref.count) };
      }
      const v = await readFloat32(id);
      return { dtype: 'fp32', shape: r.info.shape, data: v };
    },
    readRepr,
  };
}

function consumerOf(u: Use): Consumer {
  const n = u.graph.decoded.node![u.nodeIndex];
  const c: Consumer = { name: nodeLabel(n, u.nodeIndex), type: n.op_type ?? '', param: String(u.inputIndex) };
  // scalar attributes (Gemm transA/transB, Conv group, ...) for the engine's channel axes
  const attrs: Record<string, number | string> = {};
  for (const a of n.attribute ?? []) {
    if (!a.name) continue;
    if (a.type === 2) attrs[a.name] = num(a.i);
    else if (a.type === 1) attrs[a.name] = a.f ?? 0;
    else if (a.type === 3 && a.s && a.s.length <= 64) attrs[a.name] = new TextDecoder().decode(a.s);
  }
  if (Object.keys(attrs).length) c.attrs = attrs;
  return c;
}

function describe(r: WeightRec, uses: Use[], srcs: Map<string, TensorSource>): WeightInfo {
  const consumers = uses.map(consumerOf);
  const scope = r.graph.path || 'main';
  const base = { id: '', name: r.name, baseName: r.name, consumers, scope };
  const fromConst = (s?: TensorSource) => (s && (s.kind === 'const' || s.kind === 'sparse-const') ? 'Constant' : 'initializer');
  if (r.kind === 'dense' || r.kind === 'sparse') {
    const s = r.source!;
    if (s.kind === 'init' || s.kind === 'const') {
      return { ...base, opType: fromConst(s), shape: s.ref.dims, dtype: dtypeName(s.ref.dt), count: s.ref.count, bytes: s.ref.bytes, location: s.ref.location };
    }
    const count = s.dims.reduce((a, b) => a * b, 1);
    return {
      ...base,
      opType: fromConst(s),
      shape: s.dims,
      dtype: dtypeName(s.values.dt),
      count,
      bytes: s.values.bytes + s.indices.bytes,
      location: s.values.location,
      compression: { kind: 'sparse', opChain: [s.kind === 'sparse' ? 'sparse_initializer' : 'Constant.sparse_value'] },
    };
  }
  const tensorBytes = (names: string[]) =>
    names.reduce((a, n) => {
      const s = srcs.get(n);
      if (!s) return a;
      return a + (s.kind === 'init' || s.kind === 'const' ? s.ref.bytes : s.values.bytes + s.indices.bytes);
    }, 0);
  const firstSrc = srcs.get(r.memberTensors[0]);
  if (r.kind === 'dq') {
    const dq = r.dq!;
    const nbits = dtypeName(dq.x.dt).replace(/\D/g, '');
    const gran = dq.blockSize > 0 ? 'per_block' : dq.scale.count === 1 ? 'per_tensor' : 'per_channel';
    return {
      ...base,
      opType: fromConst(firstSrc),
      shape: dq.x.dims,
      dtype: dtypeName(dq.outDt),
      count: dq.x.count,
      bytes: tensorBytes(dq.names),
      location: dq.x.location,
      compression: { kind: 'quantized', nbits: Number(nbits), granularity: gran, opChain: ['DequantizeLinear'] },
    };
  }
  if (r.kind === 'nbits') {
    const x = r.nbits!;
    return {
      ...base,
      opType: fromConst(firstSrc),
      shape: [x.K, x.N],
      dtype: dtypeName(x.scales.dt),
      count: x.K * x.N,
      bytes: tensorBytes(x.names),
      location: x.B.location,
      compression: { kind: 'quantized', nbits: x.bits, granularity: 'per_block', opChain: ['MatMulNBits'] },
    };
  }
  const m = r.meta!;
  const count = m.shape.reduce((a, b) => a * b, 1);
  const bytes = tensorBytes(m.inits);
  const loc = firstSrc && (firstSrc.kind === 'init' || firstSrc.kind === 'const') ? firstSrc.ref.location : { kind: 'inline' as const };
  const info = { ...base, opType: fromConst(firstSrc), shape: m.shape, dtype: m.dtype, count, bytes, location: loc };
  if (m.k === 'affine') {
    const gran = m.scaleShape.every((x) => x === 1)
      ? 'per_tensor'
      : m.scaleShape.some((x, d) => x > 1 && x < m.shape[d])
        ? 'per_block'
        : 'per_channel';
    return { ...info, compression: { kind: 'quantized', nbits: Number(m.qdtype.replace(/\D/g, '')), granularity: gran, opChain: r.memberNodes.map((i) => r.graph.decoded.node![i].op_type ?? '') } };
  }
  if (m.k === 'lut') {
    const K = m.shape.length;
    const groups = m.lutShape.slice(0, K).reduce((a, b) => a * b, 1);
    const gran = (m.lutShape[K + 1] ?? 1) > 1 ? 'vector' : groups > 1 ? 'per_grouped_channel' : 'per_tensor';
    return { ...info, compression: { kind: 'palettized', nbits: m.nbits, granularity: gran, opChain: r.memberNodes.map((i) => r.graph.decoded.node![i].op_type ?? '') } };
  }
  return { ...info, compression: { kind: 'fp16', nbits: 16, opChain: ['Cast'] } };
}
