/**
 * coremltools' `_optimize_nn` (neural_network/optimization_utils.py), which `quantize_weights` runs before
 * any mode below 16 bits: a convolution followed by a batchnorm, scale or bias layer, an innerProduct
 * followed by a scale or bias layer, and a batchnorm followed by a scale layer are fused into the first
 * layer, whose outputs become the second layer's, and the second layer is deleted. A pair is fused only when
 * the first layer feeds exactly one layer and that layer reads from exactly one layer; after each fusion
 * the search starts again (convolutions first, then innerProducts, then batchnorms), in sub-networks too.
 *
 * Arithmetic is float64 on the stored values, results stored as float32 floatValue. Where coremltools'
 * code would write a wrong model we keep the model correct instead, and say so here:
 * - batchnorm epsilon 0 means 1e-5 (the spec's default; coremltools adds the raw 0);
 * - a deconvolution, a batchnorm with computeMeanVar, weights that are not stored as floats, and
 *   scale / bias vectors whose length is neither 1 nor the channel count are not fused;
 * - a length-1 scale bias or bias layer added to a layer without bias is broadcast to every channel;
 * - a scale layer without bias still scales the fused layer's own bias (coremltools leaves it unscaled);
 * - the conv-batchnorm product is taken per output channel (recent coremltools broadcasts it wrongly).
 * Everything else in the messages is kept byte for byte (wire-level splicing).
 */
import { ShrinkrayError } from '../../../errors';
import { readFields, encodeLenField, encodeVarintField, concatBytes, type WireField } from '../../../proto/wire';
import { F16_TABLE } from '../../../tensor/fp16';
import { nnType } from './schema';
import { parseWeightParams, floatValues, float16Bits, encodeWeightParams } from './weightparams';

export interface Fusion {
  /** the layer that absorbed the other */
  layer: string;
  /** the deleted layer */
  removed: string;
  kind: 'convolution+batchnorm' | 'convolution+scale' | 'convolution+bias' | 'innerProduct+scale' | 'innerProduct+bias' | 'batchnorm+scale';
}

const CONV = 100;
const IP = 140;
const BN = 160;
const SCALE = 245;
const BIAS = 250;
const BRANCH = 605;
const LOOP = 615;

const dec = new TextDecoder();
const enc = new TextEncoder();

interface Layer {
  bytes: Uint8Array;
  name: string;
  type: number;
  inputs: string[];
  outputs: string[];
}

function parseLayer(bytes: Uint8Array): Layer {
  const l: Layer = { bytes, name: '', type: 0, inputs: [], outputs: [] };
  for (const f of readFields(bytes)) {
    if (f.wt !== 2) continue;
    const s = () => dec.decode(bytes.subarray(f.dataStart, f.dataEnd));
    if (f.no === 1) l.name = s();
    else if (f.no === 2) l.inputs.push(s());
    else if (f.no === 3) l.outputs.push(s());
    else if (f.no >= 100 && l.type === 0) l.type = f.no;
  }
  return l;
}

function paramsOf(l: Layer): { field: WireField; bytes: Uint8Array } {
  const field = readFields(l.bytes).find((f) => f.no === l.type)!;
  return { field, bytes: l.bytes.subarray(field.dataStart, field.dataEnd) };
}

/** Scalar fields of a parameter message (its weight fields dropped before decoding). */
function scalars(typeName: string, bytes: Uint8Array, weightNos: number[]): any {
  const keep = readFields(bytes).filter((f) => !weightNos.includes(f.no));
  return nnType(typeName).decode(concatBytes(keep.map((f) => bytes.subarray(f.start, f.end)))) as any;
}

/** The float values of a WeightParams field of a parameter message, or undefined (absent / not floats). */
function floatsOf(params: Uint8Array, no: number, file: string): Float64Array | undefined {
  const f = readFields(params).find((x) => x.no === no && x.wt === 2);
  if (!f) return undefined;
  const wp = parseWeightParams(params, f.dataStart, f.dataEnd, `field ${no}`, file);
  if (wp.kind === 'float32') return Float64Array.from(floatValues(params, wp));
  if (wp.kind === 'float16') return Float64Array.from(float16Bits(params, wp), (h) => F16_TABLE[h]);
  return undefined;
}

function oldPayload(params: Uint8Array, no: number): Uint8Array {
  const f = readFields(params).find((x) => x.no === no && x.wt === 2);
  return f ? params.subarray(f.dataStart, f.dataEnd) : new Uint8Array(0);
}

/** A float32 WeightParams payload (keeping the old payload's other fields, e.g. isUpdatable). */
function floatWP(values: Float64Array, old: Uint8Array, file: string): Uint8Array {
  const v = Float32Array.from(values);
  return encodeWeightParams({ kind: 'dense', dtype: 'fp32', shape: [v.length], values: v }, old, 'a fused layer', file);
}

/**
 * Replaces (or appends) fields of a message: `set` maps a field number to its complete new encoding; every
 * occurrence of a replaced number is dropped and the new bytes go where the first one was.
 */
function setFields(buf: Uint8Array, set: Map<number, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  const done = new Set<number>();
  for (const f of readFields(buf)) {
    const rep = set.get(f.no);
    if (rep === undefined) parts.push(buf.subarray(f.start, f.end));
    else if (!done.has(f.no)) {
      parts.push(rep);
      done.add(f.no);
    }
  }
  for (const [no, rep] of set) if (!done.has(no)) parts.push(rep);
  return concatBytes(parts);
}

function withParams(l: Layer, params: Uint8Array, outputs: string[]): Uint8Array {
  const outs = concatBytes(outputs.map((o) => encodeLenField(3, enc.encode(o))));
  return setFields(l.bytes, new Map([[l.type, encodeLenField(l.type, params)], [3, outs]]));
}

function broadcast(v: Float64Array, n: number): Float64Array | undefined {
  if (v.length === n) return v;
  if (v.length === 1) return new Float64Array(n).fill(v[0]);
  return undefined;
}

/** Fuses `second` into `first`; returns the new bytes of `first`, or undefined when this pair cannot be fused. */
function fusePair(first: Layer, second: Layer, file: string): { bytes: Uint8Array; kind: Fusion['kind'] } | undefined {
  const p = paramsOf(first).bytes;
  const q = paramsOf(second).bytes;
  if (first.type === BN) {
    if (second.type !== SCALE) return undefined;
    const bn = scalars('BatchnormLayerParams', p, [15, 16, 17, 18]);
    const C = Number(bn.channels ?? 0);
    const sc = scalars('ScaleLayerParams', q, [2, 5]);
    const gamma = floatsOf(p, 15, file);
    const beta = floatsOf(p, 16, file);
    const sw0 = floatsOf(q, 2, file);
    if (!gamma || !beta || !sw0 || gamma.length !== C || beta.length !== C) return undefined;
    const sw = broadcast(sw0, C);
    const sb = sc.hasBias ? floatsOf(q, 5, file) : undefined;
    const sbb = sb ? broadcast(sb, C) : undefined;
    if (!sw || (sc.hasBias && !sbb)) return undefined;
    const g = gamma.map((x, c) => x * sw[c]);
    const b = beta.map((x, c) => x * sw[c] + (sbb ? sbb[c] : 0));
    const np = setFields(
      p,
      new Map([
        [15, encodeLenField(15, floatWP(g, oldPayload(p, 15), file))],
        [16, encodeLenField(16, floatWP(b, oldPayload(p, 16), file))],
      ]),
    );
    return { bytes: withParams(first, np, second.outputs), kind: 'batchnorm+scale' };
  }
  const isConv = first.type === CONV;
  const typeName = isConv ? 'ConvolutionLayerParams' : 'InnerProductLayerParams';
  const wNo = isConv ? 90 : 20;
  const bNo = isConv ? 91 : 21;
  const hasBiasNo = isConv ? 70 : 10;
  const lp = scalars(typeName, p, [wNo, bNo]);
  if (isConv && lp.isDeconvolution) return undefined;
  const C = Number(lp.outputChannels ?? 0);
  const w = floatsOf(p, wNo, file);
  if (!w || C === 0 || w.length % C) return undefined;
  const L = w.length / C;
  let lb: Float64Array | undefined;
  if (lp.hasBias) {
    lb = floatsOf(p, bNo, file);
    if (!lb || lb.length !== C) return undefined;
  }
  let nw: Float64Array | undefined;
  let nb: Float64Array;
  let kind: Fusion['kind'];
  if (second.type === BN && isConv) {
    const bn = scalars('BatchnormLayerParams', q, [15, 16, 17, 18]);
    if (bn.computeMeanVar || bn.instanceNormalization) return undefined;
    const gamma = floatsOf(q, 15, file);
    const beta = floatsOf(q, 16, file);
    const mean = floatsOf(q, 17, file);
    const variance = floatsOf(q, 18, file);
    if (![gamma, beta, mean, variance].every((a) => a && a.length === C)) return undefined;
    const eps = Number(bn.epsilon ?? 0) || 1e-5;
    const b = lb ?? new Float64Array(C);
    nw = new Float64Array(w.length);
    nb = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const s = Math.sqrt(variance![c] + eps);
      const k = gamma![c] / s;
      for (let i = 0; i < L; i++) nw[c * L + i] = k * w[c * L + i];
      nb[c] = (gamma![c] * b[c]) / s - (gamma![c] * mean![c]) / s + beta![c];
    }
    kind = 'convolution+batchnorm';
  } else if (second.type === SCALE) {
    const sc = scalars('ScaleLayerParams', q, [2, 5]);
    const sw0 = floatsOf(q, 2, file);
    const sw = sw0 && broadcast(sw0, C);
    if (!sw) return undefined;
    nw = new Float64Array(w.length);
    for (let c = 0; c < C; c++) for (let i = 0; i < L; i++) nw[c * L + i] = w[c * L + i] * sw[c];
    if (sc.hasBias) {
      const sb0 = floatsOf(q, 5, file);
      const sb = sb0 && broadcast(sb0, C);
      if (!sb) return undefined;
      nb = lb ? lb.map((x, c) => sw[c] * x + sb[c]) : sb;
    } else if (lb) nb = lb.map((x, c) => sw[c] * x);
    else nb = new Float64Array(0);
    kind = isConv ? 'convolution+scale' : 'innerProduct+scale';
  } else if (second.type === BIAS) {
    const bb0 = floatsOf(q, 2, file);
    const bb = bb0 && broadcast(bb0, C);
    if (!bb) return undefined;
    nb = lb ? lb.map((x, c) => x + bb[c]) : bb;
    kind = isConv ? 'convolution+bias' : 'innerProduct+bias';
  } else return undefined;
  const set = new Map<number, Uint8Array>();
  if (nw) set.set(wNo, encodeLenField(wNo, floatWP(nw, oldPayload(p, wNo), file)));
  if (nb.length) {
    set.set(bNo, encodeLenField(bNo, floatWP(nb, oldPayload(p, bNo), file)));
    set.set(hasBiasNo, encodeVarintField(hasBiasNo, 1));
  }
  return { bytes: withParams(first, setFields(p, set), second.outputs), kind };
}

/** One fusion step (coremltools' search order), or false when nothing more fuses. */
function step(layers: Layer[], fusions: Fusion[], file: string): boolean {
  const n = layers.length;
  const readers = new Map<string, number[]>();
  const writers = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, k: string, v: number) => {
    const a = m.get(k);
    if (!a) m.set(k, [v]);
    else if (a[a.length - 1] !== v) a.push(v);
  };
  for (let l = 0; l < n; l++) {
    for (const x of layers[l].inputs) add(readers, x, l);
    for (const x of layers[l].outputs) add(writers, x, l);
  }
  const linked = (names: string[], m: Map<string, number[]>): number[] => {
    const set = new Set<number>();
    for (const x of names) for (const c of m.get(x) ?? []) set.add(c);
    return [...set];
  };
  const consumers = (l: number) => linked(layers[l].outputs, readers);
  const producers = (l: number) => linked(layers[l].inputs, writers);
  const tryFirst = (types: number[], firstType: number): boolean => {
    for (let l = 0; l < n; l++) {
      if (layers[l].type !== firstType) continue;
      if (firstType === BN) {
        const bn = scalars('BatchnormLayerParams', paramsOf(layers[l]).bytes, [15, 16, 17, 18]);
        if (bn.instanceNormalization) continue;
      }
      const cons = consumers(l);
      if (cons.length !== 1) continue;
      const o = cons[0];
      if (!types.includes(layers[o].type) || producers(o).length !== 1) continue;
      if (layers[o].type === BN) {
        const bn = scalars('BatchnormLayerParams', paramsOf(layers[o]).bytes, [15, 16, 17, 18]);
        if (bn.instanceNormalization) continue;
      }
      const r = fusePair(layers[l], layers[o], file);
      if (!r) continue;
      fusions.push({ layer: layers[l].name, removed: layers[o].name, kind: r.kind });
      layers[l] = parseLayer(r.bytes);
      layers.splice(o, 1);
      return true;
    }
    return false;
  };
  return tryFirst([BN, SCALE, BIAS], CONV) || tryFirst([SCALE, BIAS], IP) || tryFirst([SCALE], BN);
}

/** Fuses the layers of a network message (and of its branch / loop sub-networks). */
export function fuseNeuralNetwork(nnBytes: Uint8Array, file: string): { bytes: Uint8Array; fusions: Fusion[] } {
  const fusions: Fusion[] = [];
  const bytes = fuseNet(nnBytes, file, fusions, 0);
  return { bytes, fusions };
}

function fuseNet(buf: Uint8Array, file: string, fusions: Fusion[], depth: number): Uint8Array {
  if (depth > 64) throw new ShrinkrayError('unsupported-model', `${file}: neural network nested deeper than 64 levels`, file);
  let fields: WireField[];
  try {
    fields = readFields(buf);
  } catch (e) {
    throw new ShrinkrayError('protobuf-decode', `${file}: neural network message is malformed (${(e as Error).message})`, file);
  }
  // sub-networks first (coremltools quantizes them through the same entry point, which fuses them too)
  const orig = fields.filter((f) => f.no === 1 && f.wt === 2).map((f) => buf.subarray(f.dataStart, f.dataEnd));
  const subs = orig.map((l) => fuseSub(l, file, fusions, depth));
  const changedSub = subs.some((l, i) => l !== orig[i]);
  const layers = subs.map(parseLayer);
  const before = fusions.length;
  while (step(layers, fusions, file));
  if (fusions.length === before && !changedSub) return buf;
  // the layers in order where the first layer field was; other fields stay where they were
  const parts: Uint8Array[] = [];
  let placed = false;
  for (const f of fields) {
    if (f.no === 1 && f.wt === 2) {
      if (!placed) {
        for (const l of layers) parts.push(encodeLenField(1, l.bytes));
        placed = true;
      }
    } else parts.push(buf.subarray(f.start, f.end));
  }
  return concatBytes(parts);
}

/** Recurses into a layer's branch / loop sub-networks; returns the layer bytes (the same object if unchanged). */
function fuseSub(layer: Uint8Array, file: string, fusions: Fusion[], depth: number): Uint8Array {
  const lf = readFields(layer).find((f) => (f.no === BRANCH || f.no === LOOP) && f.wt === 2);
  if (!lf) return layer;
  const params = layer.subarray(lf.dataStart, lf.dataEnd);
  const nets = lf.no === BRANCH ? [1, 2] : [3, 4];
  const set = new Map<number, Uint8Array>();
  for (const f of readFields(params)) {
    if (!nets.includes(f.no) || f.wt !== 2) continue;
    const sub = params.subarray(f.dataStart, f.dataEnd);
    const fused = fuseNet(sub, file, fusions, depth + 1);
    if (fused !== sub) set.set(f.no, encodeLenField(f.no, fused));
  }
  if (!set.size) return layer;
  return setFields(layer, new Map([[lf.no, encodeLenField(lf.no, setFields(params, set))]]));
}

const NN_MODEL_FIELDS = [500, 403, 303];

/**
 * `fuseNeuralNetwork` over a whole Model message (an .mlmodel file): its neural network, or every neural
 * network in its pipelines at any depth. Returns the same bytes object when nothing was fused, so a caller
 * can fuse, load the result (memoryTree) and compress, as quantize_weights does for nbits < 16.
 */
export function fuseModel(model: Uint8Array, file: string): { bytes: Uint8Array; fusions: Fusion[] } {
  const fusions: Fusion[] = [];
  const bytes = fuseModelMsg(model, file, fusions, 0);
  return { bytes, fusions };
}

function fuseModelMsg(model: Uint8Array, file: string, fusions: Fusion[], depth: number): Uint8Array {
  if (depth > 64) throw new ShrinkrayError('unsupported-model', `${file}: pipelines nested deeper than 64 levels`, file);
  let fields: WireField[];
  try {
    fields = readFields(model);
  } catch (e) {
    throw new ShrinkrayError('protobuf-decode', `${file}: not a Core ML model (${(e as Error).message})`, file);
  }
  const set = new Map<number, Uint8Array>();
  for (const f of fields) {
    if (f.wt !== 2) continue;
    const payload = model.subarray(f.dataStart, f.dataEnd);
    let next = payload;
    if (NN_MODEL_FIELDS.includes(f.no)) next = fuseNetInto(payload, file, fusions);
    else if (f.no === 202) next = fusePipeline(payload, file, fusions, depth);
    else if (f.no === 200 || f.no === 201) {
      const inner = readFields(payload).find((x) => x.no === 1 && x.wt === 2);
      if (inner) {
        const p = payload.subarray(inner.dataStart, inner.dataEnd);
        const fp = fusePipeline(p, file, fusions, depth);
        if (fp !== p) next = setFields(payload, new Map([[1, encodeLenField(1, fp)]]));
      }
    }
    if (next !== payload) set.set(f.no, encodeLenField(f.no, next));
  }
  return set.size ? setFields(model, set) : model;
}

function fuseNetInto(payload: Uint8Array, file: string, fusions: Fusion[]): Uint8Array {
  const r = fuseNeuralNetwork(payload, file);
  fusions.push(...r.fusions);
  return r.bytes;
}

/** Pipeline{models=1 repeated Model, names=2}: fuses each model, keeping order and every other field. */
function fusePipeline(pipe: Uint8Array, file: string, fusions: Fusion[], depth: number): Uint8Array {
  let changed = false;
  const parts: Uint8Array[] = [];
  for (const f of readFields(pipe)) {
    if (f.no === 1 && f.wt === 2) {
      const m = pipe.subarray(f.dataStart, f.dataEnd);
      const fm = fuseModelMsg(m, file, fusions, depth + 1);
      if (fm !== m) changed = true;
      parts.push(fm === m ? pipe.subarray(f.start, f.end) : encodeLenField(1, fm));
    } else parts.push(pipe.subarray(f.start, f.end));
  }
  return changed ? concatBytes(parts) : pipe;
}
