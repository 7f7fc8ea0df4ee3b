/**
 * Core ML reader: .mlpackage (Manifest.json → root model → weights/*.bin) and .mlmodel; ML programs
 * (MIL), NeuralNetwork models (engineer D's reader), pipelines at any depth, and every other model type
 * loaded with zero weights and a plain note.
 */
import { ShrinkrayError } from '../../errors';
import type { ByteSource, FileTree } from '../../io/source';
import type { DenseTensor, LoadedModel, ModelSummary, WeightInfo } from '../../model/types';
import type { Compressed } from '../../compress/types';
import { f32ArrayToF16 } from '../../tensor/fp16';
import { readFields } from '../../proto/wire';
import type { Detected } from '../detect';
import { readNeuralNetwork, type NNWeights } from './nn/read';
import { checkCount, checkHeader, readMeta } from './blob';
import { SPEC_OS } from './dtypes';
import { evalChain } from './eval';
import { readManifest } from './manifest';
import { indexProgram, type MilWeight, type ProgramIndex, type StoredValue } from './mil';
import { bytesByDtype, chainRepr, describeChain, weightBytes } from './repr';
import { MODEL_FIELDS, MODEL_TYPES, PipelineT, ProgramT, type PProgram } from './schema';

/** One Model message (the root or a pipeline member). */
export interface ModelNode {
  scope: string;
  spec: number;
  typeField: number;
  typeName: string;
  program?: { prog: PProgram; index: ProgramIndex };
  nn?: NNWeights;
  children?: ModelNode[];
}

export type Entry =
  | { kind: 'mil'; info: WeightInfo; w: MilWeight; node: ModelNode }
  | { kind: 'nn'; info: WeightInfo; node: ModelNode };

export interface CoreMLInternal {
  format: 'mlpackage' | 'mlmodel';
  tree: FileTree;
  /** path of the root model file in `tree` */
  modelPath: string;
  /** folder that `@model_path` names ('' for a bare .mlmodel) */
  modelDir: string;
  modelBytes: Uint8Array;
  root: ModelNode;
  entries: Map<string, Entry>;
  /** reads the bytes of a stored value (immediate, or a blob with two ranged reads) */
  readRaw(v: StoredValue): Promise<Uint8Array>;
  /** the tree path a blob fileName resolves to */
  blobPath(fileName: string): string;
}

const NN_FIELDS = new Set<number>([MODEL_FIELDS.neuralNetwork, MODEL_FIELDS.neuralNetworkClassifier, MODEL_FIELDS.neuralNetworkRegressor]);
const PIPE_FIELDS = new Set<number>([MODEL_FIELDS.pipeline, MODEL_FIELDS.pipelineClassifier, MODEL_FIELDS.pipelineRegressor]);

function decodeError(file: string, e: unknown, what = 'protobuf decode failed'): ShrinkrayError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ShrinkrayError('protobuf-decode', `${file}: not a Core ML model: ${what} (${msg})`, file);
}

/** The Pipeline message of a pipeline / pipelineClassifier / pipelineRegressor payload. */
export function pipelinePayload(field: number, payload: Uint8Array): Uint8Array {
  if (field === MODEL_FIELDS.pipeline) return payload;
  const f = readFields(payload).find((x) => x.no === 1 && x.wt === 2);
  return f ? payload.subarray(f.dataStart, f.dataEnd) : new Uint8Array(0);
}

function parseNode(bytes: Uint8Array, scope: string, file: string, depth: number): ModelNode {
  let fields;
  try {
    fields = readFields(bytes);
  } catch (e) {
    throw decodeError(file, e);
  }
  const specF = fields.find((f) => f.no === MODEL_FIELDS.specificationVersion && f.wt === 0);
  const typeF = fields.find((f) => f.no >= 200 && MODEL_TYPES[f.no] !== undefined);
  if (!typeF) {
    if (fields.some((f) => f.no >= 200)) {
      const no = fields.find((f) => f.no >= 200)!.no;
      return { scope, spec: specF?.varint ?? 0, typeField: no, typeName: `modelType${no}` };
    }
    throw new ShrinkrayError('not-a-model', `${file}: not a valid Core ML model (no model type${specF ? '' : ' and no specificationVersion'})`, file);
  }
  if (typeF.wt !== 2) throw decodeError(file, new Error(`model type field ${typeF.no} has wire type ${typeF.wt}`));
  const payload = bytes.subarray(typeF.dataStart, typeF.dataEnd);
  const node: ModelNode = { scope, spec: specF?.varint ?? 0, typeField: typeF.no, typeName: MODEL_TYPES[typeF.no] };
  if (typeF.no === MODEL_FIELDS.mlProgram) {
    let prog: PProgram;
    try {
      prog = ProgramT.decode(payload) as unknown as PProgram;
    } catch (e) {
      throw decodeError(file, e, 'ML program protobuf decode failed');
    }
    let index: ProgramIndex;
    try {
      index = indexProgram(prog);
    } catch (e) {
      throw new ShrinkrayError('not-a-model', `${file}: invalid ML program: ${(e as Error).message}`, file);
    }
    node.program = { prog, index };
  } else if (NN_FIELDS.has(typeF.no)) {
    node.nn = readNeuralNetwork(payload, scope, file);
  } else if (PIPE_FIELDS.has(typeF.no)) {
    if (depth > 64) throw new ShrinkrayError('not-a-model', `${file}: pipelines nested deeper than 64 levels`, file);
    let pipe: { models: Uint8Array[]; names: string[] };
    try {
      pipe = PipelineT.decode(pipelinePayload(typeF.no, payload)) as unknown as { models: Uint8Array[]; names: string[] };
    } catch (e) {
      throw decodeError(file, e, 'pipeline protobuf decode failed');
    }
    node.children = pipe.models.map((m, i) => parseNode(m, join(scope, pipe.names?.[i] || `model${i}`), file, depth + 1));
  }
  return node;
}

const join = (a: string, b: string) => (a ? `${a}/${b}` : b);

function* nodes(n: ModelNode): Generator<ModelNode> {
  yield n;
  for (const c of n.children ?? []) yield* nodes(c);
}

export async function loadCoreML(tree: FileTree, found: Detected): Promise<LoadedModel> {
  const t = found.tree ?? tree;
  let modelPath: string;
  let modelSrc: ByteSource;
  let fileBytes = 0;
  if (found.format === 'mlpackage') {
    const { rootPath } = await readManifest(t);
    modelPath = rootPath;
    modelSrc = t.get(rootPath)!;
    for (const p of t.paths()) fileBytes += t.get(p)?.size ?? 0;
  } else {
    modelSrc = found.main ?? t.get(t.paths()[0])!;
    modelPath = modelSrc.name;
    fileBytes = modelSrc.size;
  }
  const file = found.format === 'mlpackage' ? `${t.name}/${modelPath}` : modelPath;
  if (modelSrc.size === 0) throw new ShrinkrayError('empty-file', `${modelPath} is empty (0 bytes): not a Core ML model`, file);
  const modelBytes = await modelSrc.read(0, modelSrc.size);
  const root = parseNode(modelBytes, '', file, 0);
  const modelDir = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/')) : '';

  const blobPath = (fileName: string) => {
    const rest = fileName.startsWith('@model_path/') ? fileName.slice('@model_path/'.length) : `weights/${fileName.split('/').pop()}`;
    return modelDir ? `${modelDir}/${rest}` : rest;
  };
  const display = (p: string) => (found.format === 'mlpackage' ? `${t.name}/${p}` : p);
  const source = (v: StoredValue) => {
    const p = blobPath(v.blob!.fileName);
    const src = t.get(p);
    if (!src) throw new ShrinkrayError('weights-missing', `${t.name}: ${p.slice(modelDir ? modelDir.length + 1 : 0)} not found`, display(p));
    return { src, path: p };
  };
  const readRaw = async (v: StoredValue, scratch?: (bytes: number) => Uint8Array): Promise<Uint8Array> => {
    if (!v.blob) return v.raw ?? new Uint8Array(0);
    const { src, path } = source(v);
    const meta = await readMeta(src, display(path), v.blob.offset, v.dtype, `at ${v.blob.offset}`);
    return src.read(meta.dataOffset, meta.size, scratch?.(meta.size));
  };

  // Validate every referenced blob now (header, sentinel, dtype, range, element count): 64 bytes each.
  const byFile = new Map<string, { op: string; v: StoredValue; who: string }[]>();
  for (const n of nodes(root)) {
    for (const r of n.program?.index.blobRefs ?? []) {
      const p = blobPath(r.value.blob!.fileName);
      let list = byFile.get(p);
      if (!list) byFile.set(p, (list = []));
      list.push({ op: r.op.name, v: r.value, who: r.op.type === 'const' ? r.op.name : `${r.op.name} (${r.param})` });
    }
  }
  for (const [p, refs] of byFile) {
    const src = t.get(p);
    const rel = modelDir ? p.slice(modelDir.length + 1) : p;
    if (!src) {
      const ops = [...new Set(refs.map((r) => r.op))];
      throw new ShrinkrayError(
        'weights-missing',
        `${t.name}: ${rel} not found (referenced by ${ops.length} weight${ops.length === 1 ? '' : 's'}, e.g. ${ops[0]})`,
        display(p),
      );
    }
    await checkHeader(src, display(p));
    const sorted = [...refs].sort((a, b) => a.v.blob!.offset - b.v.blob!.offset);
    for (const r of sorted) {
      const meta = await readMeta(src, display(p), r.v.blob!.offset, r.v.dtype, r.who);
      checkCount(meta, r.v.dtype, r.v.count, display(p), r.who);
    }
  }

  // Weights
  const entries = new Map<string, Entry>();
  const weights: WeightInfo[] = [];
  const byDtype: Record<string, number> = {};
  const unsupported: string[] = [];
  const opsets = new Set<string>();
  const functions: string[] = [];
  for (const n of nodes(root)) {
    if (n.program) {
      n.program.index.opsets.forEach((o) => opsets.add(o));
      functions.push(...n.program.index.functions.map((f) => join(n.scope, f)));
      for (const w of n.program.index.weights) {
        const id = join(n.scope, `${w.fn}/${w.name}`);
        const main = w.chain.find((o) => Object.values(o.params).some((p) => p.value?.blob));
        const blobP = main && Object.values(main.params).find((p) => p.value?.blob)?.value;
        const info: WeightInfo = {
          id,
          name: w.name,
          baseName: baseName(w.name),
          opType: w.chain[w.chain.length - 1].type,
          consumers: w.consumers,
          shape: w.shape,
          dtype: w.dtype,
          count: w.shape.reduce((a, b) => a * b, 1),
          bytes: weightBytes(w),
          location: blobP ? { kind: 'blob', file: blobPath(blobP.blob!.fileName), offset: blobP.blob!.offset } : { kind: 'inline' },
          compression: describeChain(w),
          scope: join(n.scope, w.scope),
        };
        bytesByDtype(w, byDtype);
        if (entries.has(id)) throw new ShrinkrayError('internal', `${file}: two weights with the id ${id}`, file);
        entries.set(id, { kind: 'mil', info, w, node: n });
        weights.push(info);
      }
    } else if (n.nn) {
      for (const info of n.nn.weights) {
        entries.set(info.id, { kind: 'nn', info, node: n });
        weights.push(info);
        byDtype[info.dtype] = (byDtype[info.dtype] ?? 0) + info.bytes;
      }
    } else if (!n.children) {
      unsupported.push(n.typeName);
    }
  }

  const summary: ModelSummary = {
    format: found.format as 'mlpackage' | 'mlmodel',
    modelType: root.typeName,
    fileName: t.name,
    fileBytes,
    specificationVersion: root.spec,
    os: SPEC_OS[root.spec],
    opsets: opsets.size ? [...opsets] : undefined,
    functions: functions.length ? functions : undefined,
    weightCount: weights.length,
    totalParams: weights.reduce((a, w) => a + w.count, 0),
    totalWeightBytes: weights.reduce((a, w) => a + w.bytes, 0),
    bytesByDtype: byDtype,
  };
  if (unsupported.length) {
    const kinds = [...new Set(unsupported)].join(', ');
    summary.note = weights.length
      ? `sub-models of unsupported type ${kinds} have no compressible weights`
      : `unsupported model type ${kinds}: no compressible weights`;
  }

  const entry = (id: string): Entry => {
    const e = entries.get(id);
    if (!e) throw new ShrinkrayError('internal', `${file}: no weight with id ${id}`, file);
    return e;
  };
  const decompress = async (e: Extract<Entry, { kind: 'mil' }>): Promise<Float32Array> => {
    try {
      const env = await evalChain(e.w.chain, readRaw);
      const a = env.get(e.w.name);
      if (!a) throw new Error(`chain does not produce ${e.w.name}`);
      return a.data;
    } catch (err) {
      if (err instanceof ShrinkrayError) throw err;
      throw new ShrinkrayError('internal', `${file}: cannot decompress ${e.w.name}: ${(err as Error).message}`, file);
    }
  };
  const internal: CoreMLInternal = { format: found.format as 'mlpackage' | 'mlmodel', tree: t, modelPath, modelDir, modelBytes, root, entries, readRaw, blobPath };

  return {
    summary,
    weights,
    internal,
    async readFloat32(id) {
      const e = entry(id);
      if (e.kind === 'nn') return e.node.nn!.readFloat32(id);
      return decompress(e);
    },
    async readDense(id, scratch): Promise<DenseTensor> {
      const e = entry(id);
      if (e.kind === 'nn') return e.node.nn!.readDense(id);
      const w = e.w;
      const c = w.chain[0];
      if (w.chain.length === 1 && c.type === 'const' && (w.dtype === 'fp16' || w.dtype === 'fp32')) {
        const raw = await readRaw(c.params.val.value!, scratch);
        const copy = raw.byteOffset % 4 === 0 ? raw : raw.slice();
        const data = w.dtype === 'fp16'
          ? new Uint16Array(copy.buffer, copy.byteOffset, copy.byteLength >> 1)
          : new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength >> 2);
        return { dtype: w.dtype, shape: w.shape, data };
      }
      const f = await decompress(e);
      return w.dtype === 'fp16' ? { dtype: 'fp16', shape: w.shape, data: f32ArrayToF16(f) } : { dtype: 'fp32', shape: w.shape, data: f };
    },
    async readRepr(id): Promise<Compressed> {
      const e = entry(id);
      if (e.kind === 'nn') return e.node.nn!.readRepr(id);
      try {
        return await chainRepr(e.w, readRaw, () => decompress(e));
      } catch (err) {
        if (err instanceof ShrinkrayError) throw err;
        throw new ShrinkrayError('internal', `${file}: cannot read the stored form of ${e.w.name}: ${(err as Error).message}`, file);
      }
    },
  };
}

/** golden base_name: the name without _palettized/_palettized_pcs/_quantized/_sparsified, repeatedly. */
export function baseName(name: string): string {
  let n = name;
  for (;;) {
    const m = /(_palettized_pcs|_palettized|_quantized|_sparsified)$/.exec(n);
    if (!m) return n;
    n = n.slice(0, n.length - m[1].length);
  }
}
