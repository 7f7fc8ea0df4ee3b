/**
 * Core ML writer. The model is rewritten at the wire level (fields this code does not know are kept byte
 * for byte): ML programs get each compressed weight's const (or old constexpr chain) replaced by the chain
 * coremltools writes for its representation, every blob copied into a new weight.bin (storage v2, written in
 * chunks), spec/opset raised only as far as needed; NeuralNetwork sub-models go through engineer D's
 * rewriteNeuralNetwork; pipelines are recursed.
 */
import { ShrinkrayError } from '../../errors';
import type { Target, WeightResult } from '../../compress/types';
import type { LoadedModel, OutputFile, WrittenModel } from '../../model/types';
import { concatBytes, encodeLenField, encodeVarintField, readFields, spliceFields } from '../../proto/wire';
import type { WriteOptions } from '../write';
import { rewriteNeuralNetwork } from './nn/write';
import { BlobWriter, rangePieces, readMeta } from './blob';
import { opsetForSpec, specForOpset } from './dtypes';
import { emitRepr, ValueMaker, WEIGHT_FILE } from './emit';
import type { CoreMLInternal, ModelNode } from './index';
import { pipelinePayload } from './index';
import { bytesFile, manifestFile, newId } from './manifest';
import { isConstexpr, storedValue, type MilWeight } from './mil';
import { MODEL_FIELDS, OperationT, root, type PArgument, type PValue } from './schema';

const ArgumentT = root.lookupType('CoreML.Specification.MILSpec.Argument');
const ValueT = root.lookupType('CoreML.Specification.MILSpec.Value');
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * Where the writer finds each weight's result: a map of finished results (writeCoreML), or results computed on
 * demand, weight by weight in program order, by the streaming runner (src/core/engine/stream.ts).
 */
export interface ResultSource {
  /** may this weight be rewritten (a compressed result, or a job not run yet)? */
  has(id: string): boolean;
  /** the weight's result; called once per weight and program block, when the rewrite reaches the weight's first op */
  get(id: string): Promise<WeightResult | undefined>;
  /**
   * Streaming only: the weight's ops are emitted and its blobs added to the writer; the runner writes the blobs out
   * and the writer drops its reference to the representation.
   */
  emitted?(id: string): Promise<void>;
}

interface Ctx {
  internal: CoreMLInternal;
  source: ResultSource;
  /** results for NeuralNetwork sub-models (rewritten from a map only) */
  nnResults: Map<string, WeightResult>;
  target: Target;
  blobs: BlobWriter;
  /** original blob (path@offset) → new metadata offset */
  copied: Map<string, number>;
  /** the spec the output will have (for the blob-or-immediate rule) */
  spec: () => number;
}

interface Replacement {
  w: MilWeight;
  id: string;
  result: WeightResult;
}

interface Candidate {
  w: MilWeight;
  id: string;
}

/**
 * One function's edits: ops to drop, ops to replace (by output name), renames for consumers. The candidates'
 * results are looked up when the rewrite reaches their first op (consumers always follow in a MIL block).
 */
interface FnPlan {
  /** output name of every op of a candidate's chain → the candidates whose chain has that op */
  chainOps: Map<string, Candidate[]>;
  decided: Set<string>;
  drop: Set<string>;
  replace: Map<string, Replacement>;
  rename: Map<string, string>;
  emitted: Set<string>;
  minSpec: number;
}

function planNode(node: ModelNode, ctx: Ctx): Map<string, FnPlan> {
  const plans = new Map<string, FnPlan>();
  for (const w of node.program!.index.weights) {
    const id = node.scope ? `${node.scope}/${w.fn}/${w.name}` : `${w.fn}/${w.name}`;
    if (!ctx.source.has(id)) continue;
    let p = plans.get(w.fn);
    if (!p) {
      p = { chainOps: new Map(), decided: new Set(), drop: new Set(), replace: new Map(), rename: new Map(), emitted: new Set(), minSpec: 0 };
      plans.set(w.fn, p);
    }
    for (const op of w.chain) {
      for (const o of op.outputs) {
        const list = p.chainOps.get(o.name);
        if (list) list.push({ w, id });
        else p.chainOps.set(o.name, [{ w, id }]);
      }
    }
  }
  return plans;
}

/** Looks up the results of the candidates an op belongs to (once per weight), and plans their edits. */
async function decide(outputs: string[], plan: FnPlan, ctx: Ctx): Promise<void> {
  for (const o of outputs) {
    for (const { w, id } of plan.chainOps.get(o) ?? []) {
      if (plan.decided.has(w.name)) continue;
      plan.decided.add(w.name);
      const r = await ctx.source.get(id);
      if (!r || r.status !== 'compressed' || !r.repr) continue;
      const last = w.chain[w.chain.length - 1];
      for (const op of w.chain.slice(0, -1)) for (const x of op.outputs) plan.drop.add(x.name);
      plan.replace.set(last.outputs[0].name, { w, id, result: r });
      const out = plannedOutput(w, r);
      if (out !== w.name) plan.rename.set(w.name, out);
    }
  }
}

function key(bytes: Uint8Array): { key: string; value: Uint8Array } {
  let k = '';
  let v: Uint8Array = new Uint8Array(0);
  for (const f of readFields(bytes)) {
    if (f.no === 1 && f.wt === 2) k = utf8d.decode(bytes.subarray(f.dataStart, f.dataEnd));
    if (f.no === 2 && f.wt === 2) v = bytes.subarray(f.dataStart, f.dataEnd);
  }
  return { key: k, value: v };
}

function mapEntry(k: string, v: Uint8Array): Uint8Array {
  return concatBytes([encodeLenField(1, utf8.encode(k)), encodeLenField(2, v)]);
}

/** A blob value re-pointed into the new weight.bin (the data copied lazily from the input). */
async function remapValue(v: PValue, ctx: Ctx): Promise<boolean> {
  if (!v.blobFileValue) return false;
  const sv = storedValue(v);
  if (!sv?.blob) throw new ShrinkrayError('internal', `cannot copy blob ${v.blobFileValue.fileName}: unknown type`);
  const path = ctx.internal.blobPath(sv.blob.fileName);
  const k = `${path}@${sv.blob.offset}`;
  let off = ctx.copied.get(k);
  if (off === undefined) {
    const src = ctx.internal.tree.get(path);
    if (!src) throw new ShrinkrayError('weights-missing', `${ctx.internal.tree.name}: ${path} not found`, path);
    const meta = await readMeta(src, path, sv.blob.offset, sv.dtype, `at ${sv.blob.offset}`);
    off = ctx.blobs.add(sv.dtype, rangePieces(src, meta.dataOffset, meta.size), sv.count);
    ctx.copied.set(k, off);
  }
  v.blobFileValue = { fileName: WEIGHT_FILE, offset: off };
  return true;
}

async function rewriteArgument(bytes: Uint8Array, plan: FnPlan | undefined, ctx: Ctx): Promise<Uint8Array | undefined> {
  const arg = ArgumentT.decode(bytes) as unknown as PArgument;
  let changed = false;
  for (const b of arg.arguments ?? []) {
    if (b.name && plan?.rename.has(b.name)) {
      b.name = plan.rename.get(b.name)!;
      changed = true;
    } else if (b.value && (await remapValue(b.value, ctx))) changed = true;
  }
  return changed ? ArgumentT.encode(ArgumentT.fromObject(arg)).finish() : undefined;
}

/** An op kept in place: bindings renamed, blobs re-pointed, nested blocks rewritten; the rest byte for byte. */
async function rewriteOp(bytes: Uint8Array, plan: FnPlan | undefined, ctx: Ctx): Promise<Uint8Array> {
  const edits = new Map<number, Uint8Array>();
  let i = 0;
  for (const f of readFields(bytes)) {
    const payload = bytes.subarray(f.dataStart, f.dataEnd);
    if (f.no === 2 && f.wt === 2) {
      const e = key(payload);
      const nv = await rewriteArgument(e.value, plan, ctx);
      if (nv) edits.set(i, encodeLenField(2, mapEntry(e.key, nv)));
    } else if (f.no === 5 && f.wt === 2) {
      const e = key(payload);
      const v = ValueT.decode(e.value) as unknown as PValue;
      if (await remapValue(v, ctx)) edits.set(i, encodeLenField(5, mapEntry(e.key, ValueT.encode(ValueT.fromObject(v)).finish())));
    } else if (f.no === 4 && f.wt === 2) {
      edits.set(i, encodeLenField(4, await rewriteBlock(payload, plan, ctx)));
    }
    i++;
  }
  if (!edits.size) return bytes;
  let j = 0;
  return spliceFields(bytes, () => edits.get(j++));
}

function opOutputs(bytes: Uint8Array): { type: string; outputs: string[] } {
  // only type and output names are needed to decide: decode those fields alone
  let type = '';
  const outputs: string[] = [];
  for (const f of readFields(bytes)) {
    if (f.no === 1 && f.wt === 2) type = utf8d.decode(bytes.subarray(f.dataStart, f.dataEnd));
    if (f.no === 3 && f.wt === 2) {
      const nv = bytes.subarray(f.dataStart, f.dataEnd);
      const nf = readFields(nv).find((x) => x.no === 1 && x.wt === 2);
      if (nf) outputs.push(utf8d.decode(nv.subarray(nf.dataStart, nf.dataEnd)));
    }
  }
  return { type, outputs };
}

async function rewriteBlock(bytes: Uint8Array, plan: FnPlan | undefined, ctx: Ctx): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  // block outputs (field 2) come before the ops on the wire but may name a weight renamed by them: filled in last
  const blockOutputs: { at: number; name: string; raw: Uint8Array }[] = [];
  for (const f of readFields(bytes)) {
    const payload = bytes.subarray(f.dataStart, f.dataEnd);
    if (f.no === 3 && f.wt === 2) {
      const { type, outputs } = opOutputs(payload);
      const isConst = type === 'const' || isConstexpr(type);
      if (plan && isConst) await decide(outputs, plan, ctx);
      if (plan && isConst && outputs.some((o) => plan.drop.has(o)) && !outputs.some((o) => plan.replace.has(o))) continue;
      const rep = plan && isConst ? outputs.map((o) => plan.replace.get(o)).find((x) => x) : undefined;
      if (rep) {
        parts.push(...(await emitWeight(rep, plan!, ctx)));
        continue;
      }
      parts.push(encodeLenField(3, await rewriteOp(payload, plan, ctx)));
    } else if (f.no === 2 && f.wt === 2 && plan) {
      blockOutputs.push({ at: parts.length, name: utf8d.decode(payload), raw: bytes.subarray(f.start, f.end) });
      parts.push(EMPTY);
    } else {
      parts.push(bytes.subarray(f.start, f.end));
    }
  }
  for (const o of blockOutputs) parts[o.at] = plan!.rename.has(o.name) ? encodeLenField(2, utf8.encode(plan!.rename.get(o.name)!)) : o.raw;
  return concatBytes(parts);
}

const EMPTY = new Uint8Array(0);

/** The ops of one compressed weight (its blobs go to the writer); the streaming runner is told once they are. */
async function emitWeight(rep: Replacement, plan: FnPlan, ctx: Ctx): Promise<Uint8Array[]> {
  // a function with several blocks (opset variants) meets the weight again: the streaming runner computes it anew
  if (!rep.result.repr) await refetch(rep, ctx);
  const parts = encodeWeight(rep, plan, ctx);
  if (ctx.source.emitted) {
    // no frame that stays suspended here may hold the representation while the runner writes the blobs out
    dropRepr(rep);
    await ctx.source.emitted(rep.id);
  }
  return parts;
}

async function refetch(rep: Replacement, ctx: Ctx): Promise<void> {
  const r = await ctx.source.get(rep.id);
  if (r) rep.result = r;
}

function dropRepr(rep: Replacement): void {
  const { repr: _drop, ...rest } = rep.result;
  rep.result = rest;
}

function encodeWeight(rep: Replacement, plan: FnPlan, ctx: Ctx): Uint8Array[] {
  const { w } = rep;
  const repr = rep.result.repr;
  if (!repr) throw new ShrinkrayError('internal', `${w.name}: no representation to write`);
  const em = emitRepr(repr, w.chain.length === 1 ? w.name : baseOf(w), ctx.target, new ValueMaker(ctx.blobs, ctx.spec));
  if (em.output !== (plan.rename.get(w.name) ?? w.name)) {
    throw new ShrinkrayError('internal', `${w.name}: emitted ${em.output}, planned ${plan.rename.get(w.name) ?? w.name}`);
  }
  plan.emitted.add(w.name);
  plan.minSpec = Math.max(plan.minSpec, em.minSpec);
  return em.ops.map((o) => encodeLenField(3, OperationT.encode(OperationT.fromObject(o)).finish()));
}

function baseOf(w: MilWeight): string {
  let n = w.name;
  for (;;) {
    const m = /(_palettized_pcs|_palettized|_quantized|_sparsified)$/.exec(n);
    if (!m) return n;
    n = n.slice(0, n.length - m[1].length);
  }
}

/** The var a weight's new chain ends in (consumers, also in nested blocks, are renamed to it before the rewrite). */
function plannedOutput(w: MilWeight, r: WeightResult): string {
  const base = w.chain.length === 1 ? w.name : baseOf(w);
  const repr = r.repr!;
  switch (repr.kind) {
    case 'dense': return base;
    case 'lut': return repr.perChannelScale ? `${base}_palettized_pcs` : `${base}_palettized`;
    case 'affine': return `${base}_quantized`;
    case 'sparse': return `${base}_sparsified`;
    default: return base;
  }
}

async function rewriteFunction(bytes: Uint8Array, plan: FnPlan | undefined, ctx: Ctx, nodeSpec: number): Promise<{ bytes: Uint8Array; minSpec: number }> {
  if (!plan) {
    // untouched function: only its blobs move
    const fields = readFields(bytes);
    const parts: Uint8Array[] = [];
    for (const f of fields) {
      if (f.no === 3 && f.wt === 2) {
        const e = key(bytes.subarray(f.dataStart, f.dataEnd));
        parts.push(encodeLenField(3, mapEntry(e.key, await rewriteBlock(e.value, undefined, ctx))));
      } else parts.push(bytes.subarray(f.start, f.end));
    }
    return { bytes: concatBytes(parts), minSpec: 0 };
  }
  const fields = readFields(bytes);
  const opsetF = fields.find((f) => f.no === 2 && f.wt === 2);
  const oldOpset = opsetF ? utf8d.decode(bytes.subarray(opsetF.dataStart, opsetF.dataEnd)) : '';
  const blocks: { idx: number; key: string; bytes: Uint8Array }[] = [];
  fields.forEach((f, idx) => {
    if (f.no === 3 && f.wt === 2) {
      const e = key(bytes.subarray(f.dataStart, f.dataEnd));
      blocks.push({ idx, key: e.key, bytes: e.value });
    }
  });
  const newBlocks = new Map<number, Uint8Array>();
  for (const b of blocks) newBlocks.set(b.idx, await rewriteBlock(b.bytes, plan, ctx));
  const need = plan.minSpec;
  const oldSpec = specForOpset(oldOpset) ?? nodeSpec;
  const newOpset = need > oldSpec ? opsetForSpec(need) : oldOpset;
  const parts: Uint8Array[] = [];
  fields.forEach((f, idx) => {
    if (f === opsetF) parts.push(encodeLenField(2, utf8.encode(newOpset)));
    else if (newBlocks.has(idx)) {
      const b = blocks.find((x) => x.idx === idx)!;
      parts.push(encodeLenField(3, mapEntry(b.key === oldOpset ? newOpset : b.key, newBlocks.get(idx)!)));
    } else parts.push(bytes.subarray(f.start, f.end));
  });
  return { bytes: concatBytes(parts), minSpec: need };
}

async function rewriteProgram(bytes: Uint8Array, node: ModelNode, ctx: Ctx): Promise<{ bytes: Uint8Array; minSpec: number }> {
  const plans = planNode(node, ctx);
  let minSpec = 0;
  const parts: Uint8Array[] = [];
  for (const f of readFields(bytes)) {
    if (f.no === 2 && f.wt === 2) {
      const e = key(bytes.subarray(f.dataStart, f.dataEnd));
      const r = await rewriteFunction(e.value, plans.get(e.key), ctx, node.spec);
      minSpec = Math.max(minSpec, r.minSpec);
      parts.push(encodeLenField(2, mapEntry(e.key, r.bytes)));
    } else parts.push(bytes.subarray(f.start, f.end));
  }
  // every weight that may be rewritten must have been reached, and every compressed one emitted
  for (const [, p] of plans) {
    for (const [, list] of p.chainOps) {
      for (const { w } of list) {
        if (!p.decided.has(w.name)) throw new ShrinkrayError('internal', `weight ${w.name} was not found while rewriting the program`);
      }
    }
    for (const [n, { w }] of p.replace) {
      if (!p.emitted.has(w.name)) throw new ShrinkrayError('internal', `weight ${n} was not found while rewriting the program`);
    }
  }
  return { bytes: concatBytes(parts), minSpec };
}

async function rewriteModel(bytes: Uint8Array, node: ModelNode, ctx: Ctx): Promise<{ bytes: Uint8Array; spec: number }> {
  let spec = node.spec;
  const fields = readFields(bytes);
  const edits = new Map<number, Uint8Array>();
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.no !== node.typeField || f.wt !== 2) continue;
    const payload = bytes.subarray(f.dataStart, f.dataEnd);
    if (node.program) {
      const r = await rewriteProgram(payload, node, ctx);
      spec = Math.max(spec, r.minSpec);
      edits.set(i, encodeLenField(f.no, r.bytes));
    } else if (node.nn) {
      const mine = [...ctx.nnResults.keys()].some((id) => node.nn!.weights.some((w) => w.id === id));
      if (mine) {
        const r = rewriteNeuralNetwork(payload, node.scope, ctx.nnResults);
        spec = Math.max(spec, r.minSpec);
        edits.set(i, encodeLenField(f.no, r.bytes));
      }
    } else if (node.children) {
      const pipe = pipelinePayload(f.no, payload);
      let k = 0;
      let childSpec = 0;
      const newPipe: Uint8Array[] = [];
      for (const pf of readFields(pipe)) {
        if (pf.no === 1 && pf.wt === 2) {
          const child = node.children[k++];
          const r = await rewriteModel(pipe.subarray(pf.dataStart, pf.dataEnd), child, ctx);
          childSpec = Math.max(childSpec, r.spec);
          newPipe.push(encodeLenField(1, r.bytes));
        } else newPipe.push(pipe.subarray(pf.start, pf.end));
      }
      const pipeBytes = concatBytes(newPipe);
      let outer = pipeBytes;
      if (f.no !== MODEL_FIELDS.pipeline) {
        outer = spliceFields(payload, (pf) => (pf.no === 1 && pf.wt === 2 ? encodeLenField(1, pipeBytes) : undefined));
      }
      spec = Math.max(spec, childSpec);
      edits.set(i, encodeLenField(f.no, outer));
    }
  }
  let j = 0;
  const hasSpec = fields.some((f) => f.no === 1 && f.wt === 0);
  const out = spliceFields(
    bytes,
    (f) => {
      const e = edits.get(j++);
      if (f.no === 1 && f.wt === 0) return spec !== f.varint ? encodeVarintField(1, spec) : undefined;
      return e;
    },
    hasSpec || spec === node.spec ? [] : [encodeVarintField(1, spec)],
  );
  return { bytes: out, spec };
}

/** Where the output specificationVersion will land, for the blob-or-immediate rule of new values. */
function predictSpec(internal: CoreMLInternal, results: Map<string, WeightResult>, target: Target): number {
  let spec = internal.root.spec;
  if (target === 'iOS18' && [...results.values()].some((r) => r.status === 'compressed' && r.repr && r.repr.kind !== 'dense')) spec = Math.max(spec, 9);
  return spec;
}

/** The Core ML reader's handle of a loaded model. */
export function coremlInternal(model: LoadedModel): CoreMLInternal {
  const internal = model.internal as CoreMLInternal;
  if (!internal || !internal.root) throw new ShrinkrayError('internal', `${model.summary.fileName}: not a model loaded by the Core ML reader`);
  return internal;
}

/** A result the writer can store for its weight: known weight, ML program forms only there, same dtype and shape. */
export function checkResult(model: LoadedModel, id: string, r: WeightResult): void {
  if (r.status !== 'compressed' || !r.repr) return;
  const e = coremlInternal(model).entries.get(id);
  if (!e) throw new ShrinkrayError('internal', `${model.summary.fileName}: result for unknown weight ${id}`);
  if (e.kind === 'mil') {
    if (r.repr.kind === 'nnlinear') {
      throw new ShrinkrayError('invalid-option', `${model.summary.fileName}: weight ${e.info.name} is in an ML program; a NeuralNetwork linear representation cannot be written there`);
    }
    if (r.repr.dtype !== e.w.dtype || r.repr.shape.join() !== e.w.shape.join()) {
      throw new ShrinkrayError(
        'invalid-option',
        `${model.summary.fileName}: the result for ${e.info.name} is ${r.repr.dtype} [${r.repr.shape}], but the weight is ${e.w.dtype} [${e.w.shape}] (its consumers expect that type)`,
      );
    }
  }
}

export interface RewriteParts {
  source: ResultSource;
  /** results of NeuralNetwork weights (empty when streaming) */
  nnResults: Map<string, WeightResult>;
  blobs: BlobWriter;
  /** the output's specificationVersion as far as the blob-or-immediate rule needs it */
  spec: () => number;
}

/** The rewritten root model message; blobs went to `parts.blobs`; `copied`: input blob files the output copies from. */
export async function rewriteCoreML(model: LoadedModel, opts: WriteOptions, parts: RewriteParts): Promise<{ bytes: Uint8Array; copied: Set<string> }> {
  const internal = coremlInternal(model);
  const ctx: Ctx = {
    internal,
    source: parts.source,
    nnResults: parts.nnResults,
    target: opts.plan?.target ?? 'iOS16',
    blobs: parts.blobs,
    copied: new Map(),
    spec: parts.spec,
  };
  const { bytes } = await rewriteModel(internal.modelBytes, internal.root, ctx);
  return { bytes, copied: new Set([...ctx.copied.keys()].map((k) => k.slice(0, k.lastIndexOf('@')))) };
}

/** Output name stem of a model (`Model` for Model.mlpackage). */
export function outputName(internal: CoreMLInternal, tag = 'compressed'): string {
  const baseName = internal.tree.name.replace(/\.(mlpackage|mlmodel|zip)$/i, '').replace(/\.mlpackage$/i, '');
  return `${baseName}.${tag}.mlpackage`;
}

/**
 * The output's files in order: a bare .mlmodel when an .mlmodel input gains no blobs, else a package (the input
 * package's other files, Manifest.json, model.mlmodel, weight.bin from `weightsFile`).
 */
export async function packageFiles(
  internal: CoreMLInternal,
  bytes: Uint8Array,
  copied: Set<string>,
  blobCount: number,
  tag: string,
  weightsFile: (path: string) => OutputFile,
): Promise<WrittenModel> {
  const name = outputName(internal, tag);
  if (internal.format === 'mlmodel' && blobCount === 0) {
    const file = name.replace(/\.mlpackage$/, '.mlmodel');
    return { format: 'mlmodel', name: file, files: [bytesFile(file, bytes)] };
  }
  const modelPath = internal.format === 'mlpackage' ? internal.modelPath : 'Data/com.apple.CoreML/model.mlmodel';
  const weightsPath = weightsPathOf(internal);
  const files: OutputFile[] = [];
  if (internal.format === 'mlpackage') {
    // keep every other file of the package (extra manifest items, metadata) as it is
    for (const p of internal.tree.paths()) {
      if (p === 'Manifest.json' || p === internal.modelPath || p === weightsPath || copied.has(p)) continue;
      const src = internal.tree.get(p)!;
      const piece = 8 << 20;
      files.push({
        path: p,
        size: src.size,
        async *chunks() {
          for (let o = 0; o < src.size; o += piece) yield await src.read(o, Math.min(piece, src.size - o));
        },
      });
    }
    files.push(await keepManifest(internal, blobCount > 0));
  } else {
    files.push(manifestFile(blobCount > 0));
  }
  files.push(bytesFile(modelPath, bytes));
  if (blobCount > 0) files.push(weightsFile(weightsPath));
  return { format: 'mlpackage', name, files };
}

/** Where the output's weight.bin goes. */
export function weightsPathOf(internal: CoreMLInternal): string {
  const modelPath = internal.format === 'mlpackage' ? internal.modelPath : 'Data/com.apple.CoreML/model.mlmodel';
  return `${modelPath.slice(0, modelPath.lastIndexOf('/'))}/weights/weight.bin`;
}

export async function writeCoreML(model: LoadedModel, results: Map<string, WeightResult>, opts: WriteOptions): Promise<WrittenModel> {
  const internal = coremlInternal(model);
  for (const [id, r] of results) checkResult(model, id, r);
  const blobs = new BlobWriter();
  const spec = predictSpec(internal, results, opts.plan?.target ?? 'iOS16');
  const source: ResultSource = {
    has: (id) => {
      const r = results.get(id);
      return !!r && r.status === 'compressed' && !!r.repr;
    },
    get: async (id) => results.get(id),
  };
  const { bytes, copied } = await rewriteCoreML(model, opts, { source, nnResults: results, blobs, spec: () => spec });
  return packageFiles(internal, bytes, copied, blobs.count, opts.tag ?? 'compressed', (p) => blobs.file(p));
}

/** The input's Manifest.json, with a weights item added when the output needs one and it has none. */
async function keepManifest(internal: CoreMLInternal, needWeights: boolean): Promise<OutputFile> {
  const src = internal.tree.get('Manifest.json')!;
  const raw = await src.read(0, src.size);
  const m = JSON.parse(utf8d.decode(raw)) as { itemInfoEntries: Record<string, { path: string }> };
  const hasWeights = Object.values(m.itemInfoEntries).some((e) => e.path.endsWith('/weights') || e.path === 'com.apple.CoreML/weights');
  if (!needWeights || hasWeights) return bytesFile('Manifest.json', raw.slice());
  const entries = { ...m.itemInfoEntries, [newId()]: { author: 'com.apple.CoreML', description: 'CoreML Model Weights', name: 'weights', path: 'com.apple.CoreML/weights' } };
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(entries).sort()) sorted[k] = entries[k as keyof typeof entries];
  const text = JSON.stringify({ ...m, itemInfoEntries: sorted }, null, 4) + '\n';
  return bytesFile('Manifest.json', utf8.encode(text));
}
