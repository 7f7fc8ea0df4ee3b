/**
 * Walks a NeuralNetwork / NeuralNetworkClassifier / NeuralNetworkRegressor message (they share layers=1) at
 * the wire level and lists every WeightParams it holds, with the shape coremltools' quantization_utils uses
 * (formats.md §6.5), whether quantize_weights would quantize it, and the path of field positions that leads
 * to it (for the writer). Branch and loop layers are followed into their sub-networks.
 */
import { ShrinkrayError } from '../../../errors';
import { readFields, type WireField } from '../../../proto/wire';
import { nnType } from './schema';

/** One WeightParams inside the network. */
export interface NNSite {
  layer: string;
  layerType: string;
  /** field label: `weights`, `bias`, `inputGateWeightMatrix`, `forward.inputGateWeightMatrix`, ... */
  field: string;
  /** `<branchLayer>.ifBranch/...` for layers inside sub-networks, '' at the top */
  subPath: string;
  /** field indices (positions in readFields order) from the network message down to the WeightParams field */
  path: number[];
  /** absolute [start, end) of the WeightParams payload in the network bytes */
  start: number;
  end: number;
  /** the quantization shape (§6.5), or undefined when it is only known from the stored count */
  shape?: number[];
  /** per-channel axis for linear quantization (1 for deconvolution weights) */
  axis: number;
  /** quantize_weights' default selector would quantize this field (if it still holds floatValue) */
  quantizable: boolean;
}

const dec = new TextDecoder();

function prod(xs: ArrayLike<number>): number {
  let n = 1;
  for (let i = 0; i < xs.length; i++) n *= Number(xs[i]);
  return n;
}

/** Decodes a layer-parameter message with the schema after dropping the given (weight / sub-network) fields. */
function decodeParams(typeName: string, buf: Uint8Array, fields: WireField[], drop: Set<number>): any {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const f of fields) {
    if (drop.has(f.no)) continue;
    const p = buf.subarray(f.start, f.end);
    parts.push(p);
    n += p.length;
  }
  const small = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    small.set(p, o);
    o += p.length;
  }
  return nnType(typeName).decode(small) as any;
}

interface FieldSpec {
  no: number;
  name: string;
  shape: (p: any) => number[] | undefined;
  /** quantizable given the decoded params */
  q: (p: any) => boolean;
  axis?: (p: any) => number;
}

const num = (v: unknown): number => Number(v ?? 0);
const always = (): boolean => true;
const never = (): boolean => false;
const flat = (): undefined => undefined;

function convShape(p: any): number[] {
  const oc = num(p.outputChannels);
  const kc = num(p.kernelChannels);
  const ks: number[] = (p.kernelSize ?? []).map(Number);
  const kh = ks.length >= 1 ? ks[0] : 3;
  const kw = ks.length >= 2 ? ks[1] : 3;
  const groups = num(p.nGroups) || 1;
  return p.isDeconvolution ? [kc, Math.floor(oc / groups), kh, kw] : [oc, kc, kh, kw];
}

const LSTM_FIELDS: [number, string, 'in' | 'rec' | 'vec' | 'peep'][] = [
  [1, 'inputGateWeightMatrix', 'in'],
  [2, 'forgetGateWeightMatrix', 'in'],
  [3, 'blockInputWeightMatrix', 'in'],
  [4, 'outputGateWeightMatrix', 'in'],
  [20, 'inputGateRecursionMatrix', 'rec'],
  [21, 'forgetGateRecursionMatrix', 'rec'],
  [22, 'blockInputRecursionMatrix', 'rec'],
  [23, 'outputGateRecursionMatrix', 'rec'],
  [40, 'inputGateBiasVector', 'vec'],
  [41, 'forgetGateBiasVector', 'vec'],
  [42, 'blockInputBiasVector', 'vec'],
  [43, 'outputGateBiasVector', 'vec'],
  [60, 'inputGatePeepholeVector', 'peep'],
  [61, 'forgetGatePeepholeVector', 'peep'],
  [62, 'outputGatePeepholeVector', 'peep'],
];

/** Plain layers: one level of WeightParams fields inside the layer's parameter message. */
const SIMPLE: Record<string, { type: string; fields: FieldSpec[] }> = {
  convolution: {
    type: 'ConvolutionLayerParams',
    fields: [
      { no: 90, name: 'weights', shape: convShape, q: always, axis: (p) => (p.isDeconvolution ? 1 : 0) },
      { no: 91, name: 'bias', shape: (p) => [num(p.outputChannels)], q: (p) => !!p.hasBias },
    ],
  },
  innerProduct: {
    type: 'InnerProductLayerParams',
    fields: [
      { no: 20, name: 'weights', shape: (p) => [num(p.outputChannels), num(p.inputChannels)], q: always },
      { no: 21, name: 'bias', shape: (p) => [num(p.outputChannels)], q: (p) => !!p.hasBias },
    ],
  },
  embedding: {
    type: 'EmbeddingLayerParams',
    fields: [
      { no: 20, name: 'weights', shape: (p) => [num(p.outputChannels), num(p.inputDim)], q: always },
      { no: 21, name: 'bias', shape: (p) => [num(p.outputChannels)], q: (p) => !!p.hasBias },
    ],
  },
  embeddingND: {
    type: 'EmbeddingNDLayerParams',
    fields: [
      { no: 20, name: 'weights', shape: (p) => [num(p.embeddingSize), num(p.vocabSize)], q: always },
      { no: 21, name: 'bias', shape: (p) => [num(p.embeddingSize)], q: (p) => !!p.hasBias },
    ],
  },
  batchnorm: {
    type: 'BatchnormLayerParams',
    fields: (
      [
        [15, 'gamma'],
        [16, 'beta'],
        [17, 'mean'],
        [18, 'variance'],
      ] as const
    ).map(([no, name]) => ({ no, name, shape: (p: any) => [num(p.channels)], q: always })),
  },
  scale: {
    type: 'ScaleLayerParams',
    fields: [
      { no: 2, name: 'scale', shape: (p) => [prod(p.shapeScale ?? [])], q: always },
      { no: 5, name: 'bias', shape: (p) => [prod(p.shapeBias ?? [])], q: (p) => !!p.hasBias },
    ],
  },
  bias: { type: 'BiasLayerParams', fields: [{ no: 2, name: 'bias', shape: (p) => [prod(p.shape ?? [])], q: always }] },
  loadConstant: {
    type: 'LoadConstantLayerParams',
    fields: [{ no: 2, name: 'data', shape: (p) => [prod(p.shape ?? [])], q: always }],
  },
  loadConstantND: {
    type: 'LoadConstantNDLayerParams',
    fields: [{ no: 2, name: 'data', shape: (p) => [prod(p.shape ?? [])], q: always }],
  },
  simpleRecurrent: {
    type: 'SimpleRecurrentLayerParams',
    fields: [
      { no: 30, name: 'weightMatrix', shape: (p) => [num(p.outputVectorSize), num(p.inputVectorSize)], q: always },
      { no: 31, name: 'recursionMatrix', shape: (p) => [num(p.outputVectorSize), num(p.outputVectorSize)], q: always },
      { no: 32, name: 'biasVector', shape: (p) => [num(p.outputVectorSize)], q: (p) => !!p.hasBiasVector },
    ],
  },
  gru: {
    type: 'GRULayerParams',
    fields: [
      ...([
        [30, 'updateGateWeightMatrix'],
        [31, 'resetGateWeightMatrix'],
        [32, 'outputGateWeightMatrix'],
      ] as const).map(([no, name]) => ({
        no,
        name,
        shape: (p: any) => [num(p.outputVectorSize), num(p.inputVectorSize)],
        q: always,
      })),
      ...([
        [50, 'updateGateRecursionMatrix'],
        [51, 'resetGateRecursionMatrix'],
        [52, 'outputGateRecursionMatrix'],
      ] as const).map(([no, name]) => ({
        no,
        name,
        shape: (p: any) => [num(p.outputVectorSize), num(p.outputVectorSize)],
        q: always,
      })),
      ...([
        [70, 'updateGateBiasVector'],
        [71, 'resetGateBiasVector'],
        [72, 'outputGateBiasVector'],
      ] as const).map(([no, name]) => ({
        no,
        name,
        shape: (p: any) => [num(p.outputVectorSize)],
        q: (p: any) => !!p.hasBiasVectors,
      })),
    ],
  },
  batchedMatmul: {
    type: 'BatchedMatMulLayerParams',
    fields: [
      {
        no: 8,
        name: 'weights',
        // stored column-major [X1, X2], i.e. row-major [X2, X1]
        shape: (p) => [num(p.weightMatrixSecondDimension), num(p.weightMatrixFirstDimension)],
        q: always,
      },
      { no: 9, name: 'bias', shape: (p) => [num(p.weightMatrixSecondDimension)], q: (p) => !!p.hasBias },
    ],
  },
  layerNormalization: {
    type: 'LayerNormalizationLayerParams',
    fields: [
      { no: 3, name: 'gamma', shape: (p) => [prod(p.normalizedShape ?? [])], q: never },
      { no: 4, name: 'beta', shape: (p) => [prod(p.normalizedShape ?? [])], q: never },
    ],
  },
  convolution3d: {
    type: 'Convolution3DLayerParams',
    fields: [
      {
        no: 60,
        name: 'weights',
        shape: (p) => [
          num(p.outputChannels),
          Math.floor(num(p.inputChannels) / (num(p.nGroups) || 1)),
          num(p.kernelDepth),
          num(p.kernelHeight),
          num(p.kernelWidth),
        ],
        q: never,
      },
      { no: 61, name: 'bias', shape: (p) => [num(p.outputChannels)], q: never },
    ],
  },
};

let layerTypeByNo: Map<number, string> | undefined;

/** oneof field number of NeuralNetworkLayer → layer type name, from the schema. */
export function layerTypeOf(no: number): string | undefined {
  if (!layerTypeByNo) {
    layerTypeByNo = new Map();
    const t = nnType('NeuralNetworkLayer');
    for (const f of t.fieldsArray) if (f.partOf) layerTypeByNo.set(f.id, f.name);
  }
  return layerTypeByNo.get(no);
}

export interface WalkContext {
  file: string;
}

/**
 * Lists the WeightParams sites of a network message. `base` is the absolute offset of `buf` in the root
 * bytes, `path` the field positions leading to it, `subPath` its display path.
 */
export function walkNetwork(
  buf: Uint8Array,
  ctx: WalkContext,
  base = 0,
  path: number[] = [],
  subPath = '',
  out: NNSite[] = [],
  depth = 0,
): NNSite[] {
  if (depth > 64) throw new ShrinkrayError('unsupported-model', `${ctx.file}: neural network nested deeper than 64 levels`, ctx.file);
  let fields: WireField[];
  try {
    fields = readFields(buf);
  } catch (e) {
    throw new ShrinkrayError('protobuf-decode', `${ctx.file}: neural network message is malformed (${(e as Error).message})`, ctx.file);
  }
  fields.forEach((lf, li) => {
    if (lf.no !== 1 || lf.wt !== 2) return;
    walkLayer(buf.subarray(lf.dataStart, lf.dataEnd), ctx, base + lf.dataStart, [...path, li], subPath, out, depth, li);
  });
  return out;
}

function walkLayer(
  buf: Uint8Array,
  ctx: WalkContext,
  base: number,
  path: number[],
  subPath: string,
  out: NNSite[],
  depth: number,
  index: number,
): void {
  let fields: WireField[];
  try {
    fields = readFields(buf);
  } catch (e) {
    throw new ShrinkrayError('protobuf-decode', `${ctx.file}: layer #${index} is malformed (${(e as Error).message})`, ctx.file);
  }
  let name = `layer${index}`;
  for (const f of fields) if (f.no === 1 && f.wt === 2) name = dec.decode(buf.subarray(f.dataStart, f.dataEnd));
  fields.forEach((pf, pi) => {
    if (pf.wt !== 2 || pf.no < 100) return;
    const layerType = layerTypeOf(pf.no);
    if (!layerType) return;
    const pbuf = buf.subarray(pf.dataStart, pf.dataEnd);
    const pbase = base + pf.dataStart;
    const ppath = [...path, pi];
    try {
      walkParams(layerType, name, pbuf, ctx, pbase, ppath, subPath, out, depth);
    } catch (e) {
      if (e instanceof ShrinkrayError) throw e;
      throw new ShrinkrayError(
        'protobuf-decode',
        `${ctx.file}: layer '${name}' (${layerType}) is malformed (${(e as Error).message})`,
        ctx.file,
      );
    }
  });
}

function site(
  out: NNSite[],
  s: Omit<NNSite, 'start' | 'end' | 'path'>,
  f: WireField,
  base: number,
  path: number[],
  fi: number,
): void {
  out.push({ ...s, path: [...path, fi], start: base + f.dataStart, end: base + f.dataEnd });
}

function walkParams(
  layerType: string,
  layer: string,
  buf: Uint8Array,
  ctx: WalkContext,
  base: number,
  path: number[],
  subPath: string,
  out: NNSite[],
  depth: number,
): void {
  const fields = readFields(buf);
  const simple = SIMPLE[layerType];
  if (simple) {
    const drop = new Set(simple.fields.map((s) => s.no));
    const p = decodeParams(simple.type, buf, fields, drop);
    fields.forEach((f, fi) => {
      const spec = simple.fields.find((s) => s.no === f.no);
      if (!spec || f.wt !== 2) return;
      site(
        out,
        { layer, layerType, field: spec.name, subPath, shape: spec.shape(p), axis: spec.axis?.(p) ?? 0, quantizable: spec.q(p) },
        f,
        base,
        path,
        fi,
      );
    });
    return;
  }
  switch (layerType) {
    case 'uniDirectionalLSTM':
    case 'biDirectionalLSTM': {
      const type = layerType === 'uniDirectionalLSTM' ? 'UniDirectionalLSTMLayerParams' : 'BiDirectionalLSTMLayerParams';
      const p = decodeParams(type, buf, fields, new Set([20]));
      const o = num(p.outputVectorSize);
      const i = num(p.inputVectorSize);
      const peep = !!p.params?.hasPeepholeVectors;
      let k = 0;
      fields.forEach((f, fi) => {
        if (f.no !== 20 || f.wt !== 2) return;
        const prefix =
          layerType === 'uniDirectionalLSTM' ? '' : k === 0 ? 'forward.' : k === 1 ? 'backward.' : `weightParams${k}.`;
        k++;
        const wbuf = buf.subarray(f.dataStart, f.dataEnd);
        const wbase = base + f.dataStart;
        readFields(wbuf).forEach((g, gi) => {
          const spec = LSTM_FIELDS.find((s) => s[0] === g.no);
          if (!spec || g.wt !== 2) return;
          const kind = spec[2];
          const shape = kind === 'in' ? [o, i] : kind === 'rec' ? [o, o] : [o];
          site(
            out,
            { layer, layerType, field: prefix + spec[1], subPath, shape, axis: 0, quantizable: kind !== 'peep' || peep },
            g,
            wbase,
            [...path, fi],
            gi,
          );
        });
      });
      return;
    }
    case 'activation': {
      fields.forEach((f, fi) => {
        if (f.wt !== 2 || (f.no !== 25 && f.no !== 71)) return;
        const act = f.no === 25 ? 'PReLU' : 'parametricSoftplus';
        const abuf = buf.subarray(f.dataStart, f.dataEnd);
        readFields(abuf).forEach((g, gi) => {
          if (g.wt !== 2 || (g.no !== 1 && g.no !== 2)) return;
          const field = `${act}.${g.no === 1 ? 'alpha' : 'beta'}`;
          site(out, { layer, layerType, field, subPath, shape: flat(), axis: 0, quantizable: false }, g, base + f.dataStart, [...path, fi], gi);
        });
      });
      return;
    }
    case 'custom': {
      let k = 0;
      fields.forEach((f, fi) => {
        if (f.no !== 20 || f.wt !== 2) return;
        site(out, { layer, layerType, field: `weights${k++}`, subPath, shape: flat(), axis: 0, quantizable: false }, f, base, path, fi);
      });
      return;
    }
    case 'branch':
    case 'loop': {
      const nets: Record<number, string> =
        layerType === 'branch' ? { 1: 'ifBranch', 2: 'elseBranch' } : { 3: 'conditionNetwork', 4: 'bodyNetwork' };
      fields.forEach((f, fi) => {
        const label = nets[f.no];
        if (!label || f.wt !== 2) return;
        const sp = `${subPath}${layer}.${label}/`;
        walkNetwork(buf.subarray(f.dataStart, f.dataEnd), ctx, base + f.dataStart, [...path, fi], sp, out, depth + 1);
      });
      return;
    }
    default:
      return;
  }
}
