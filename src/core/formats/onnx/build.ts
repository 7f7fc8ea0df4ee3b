/** Building new nodes and initializers for one graph (names kept unique across the model). */
import { encodeLenField, encodeVarint } from '../../proto/wire';
import { ShrinkrayError } from '../../errors';
import { DT, rawBytes } from './dtypes';
import { META_PREFIX, type MetaBody } from './meta';
import { lenFieldParts, type Part } from './parts';
import { onnxType } from './schema';

export interface Attr {
  name: string;
  i?: number;
  ints?: number[];
  f?: number;
}

interface PendingNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Attr[];
  doc?: string;
}

export class Names {
  constructor(private used: Set<string>) {}
  fresh(base: string): string {
    let n = base;
    for (let k = 1; this.used.has(n); k++) n = `${base}_${k}`;
    this.used.add(n);
    return n;
  }
}

/** Initializer data, or a function that makes it (not called when the chain only measures). */
export type LazyData = Uint8Array | (() => Uint8Array);

/**
 * Nodes and initializers of one dequantization chain; the last node writes `out`. A measuring chain
 * (`measure = true`) records each initializer's type, shape and stored byte count without making its data:
 * onnxStoredBytes runs the writer's own emitters on one, so the byte count and the file cannot disagree.
 */
export class Chain {
  nodes: PendingNode[] = [];
  inits: { name: string; dt: number; dims: number[]; data: Uint8Array; bytes: number }[] = [];
  constructor(
    readonly names: Names,
    readonly base: string,
    readonly measure = false,
  ) {}

  /** Adds an initializer under exactly `name`; its data must be rawBytes(dt, dims) long (checked). */
  named(name: string, dt: number, dims: number[], data: LazyData): string {
    const bytes = rawBytes(dt, dims.reduce((a, b) => a * b, 1));
    if (this.measure) {
      this.inits.push({ name, dt, dims, data: new Uint8Array(0), bytes });
      return name;
    }
    const d = typeof data === 'function' ? data() : data;
    if (d.length !== bytes) {
      throw new ShrinkrayError('internal', `ONNX writer: tensor ${name} of shape [${dims}] has ${d.length} data bytes, expected ${bytes}`);
    }
    this.inits.push({ name, dt, dims, data: d, bytes });
    return name;
  }
  init(suffix: string, dt: number, dims: number[], data: LazyData): string {
    return this.named(this.names.fresh(`${this.base}_${suffix}`), dt, dims, data);
  }
  f32(suffix: string, dims: number[], values: ArrayLike<number>): string {
    const a = Float32Array.from(values);
    return this.init(suffix, DT.FLOAT, dims, new Uint8Array(a.buffer));
  }
  i64(suffix: string, values: number[]): string {
    const a = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.init(suffix, DT.INT64, [values.length], new Uint8Array(a.buffer));
  }
  node(op: string, inputs: string[], attrs: Attr[] = []): string {
    const out = this.names.fresh(`${this.base}_${op}_out`);
    this.nodes.push({ op, name: this.names.fresh(`${this.base}_${op}`), inputs, outputs: [out], attrs });
    return out;
  }
  /** Routes the last node's output to `out` and marks it with `meta` (if given). */
  finish(value: string, out: string, meta?: MetaBody): void {
    let last = this.nodes[this.nodes.length - 1];
    if (!last || last.outputs[0] !== value) {
      this.nodes.push({ op: 'Identity', name: this.names.fresh(`${this.base}_Identity`), inputs: [value], outputs: [out], attrs: [] });
      last = this.nodes[this.nodes.length - 1];
    } else last.outputs[0] = out;
    if (meta) {
      const full = { ...meta, out, nodes: this.nodes.map((n) => n.name), inits: this.inits.map((i) => i.name) };
      last.doc = META_PREFIX + JSON.stringify(full);
    }
  }

  encodeNodes(): Uint8Array[] {
    const T = onnxType('NodeProto');
    return this.nodes.map((n) =>
      T.encode({
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        op_type: n.op,
        attribute: n.attrs.map((a) =>
          a.ints ? { name: a.name, type: 7, ints: a.ints } : a.f !== undefined ? { name: a.name, type: 1, f: a.f } : { name: a.name, type: 2, i: a.i },
        ),
        ...(n.doc ? { doc_string: n.doc } : {}),
      }).finish(),
    );
  }
}

export function tensorPayload(name: string, dt: number, dims: number[], data: Uint8Array | Part[]): Part[] {
  const head = onnxType('TensorProto').encode({ dims, data_type: dt, name }).finish();
  const payload = data instanceof Uint8Array ? [data] : data;
  return [head, ...lenFieldParts(9, payload)];
}

export function valueInfoPayload(name: string, dt: number, dims: number[]): Uint8Array {
  return onnxType('ValueInfoProto')
    .encode({ name, type: { tensor_type: { elem_type: dt, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } })
    .finish();
}

export { encodeLenField, encodeVarint };
