/**
 * The writer marks the last node of each dequantization chain it emits with a doc_string
 * `shrinkray:{json}` that names the chain's nodes and initializers, so that the reader shows the weight
 * as compressed and can return its representation. DequantizeLinear nodes are recognised without it.
 */
export const META_PREFIX = 'shrinkray:';

interface MetaBase {
  /** the tensor name consumers read */
  out: string;
  nodes: string[];
  inits: string[];
  dtype: 'fp16' | 'fp32';
  shape: number[];
}

export interface AffineMeta extends MetaBase {
  k: 'affine';
  qdtype: 'int8' | 'uint8' | 'int4' | 'uint4';
  scaleShape: number[];
  /**
   * initializer of codes: pack 0 = native INT8/UINT8/INT4/UINT4 (DequantizeLinear); pack 8 = INT8/UINT8 read by
   * Cast; pack 4 = UINT8 [m,1] of LSB-first packed codes unpacked with float ops
   */
  q: string;
  pack: number;
  /** native zero point (same type as q), DequantizeLinear form */
  zp?: string;
  /** stored code = code + ushift (int4 packed as unsigned) */
  ushift: number;
  scale: string;
  /** float offset initializer (zero point + ushift), if any */
  offset?: string;
}

export interface LutMeta extends MetaBase {
  k: 'lut';
  nbits: number;
  indicesShape: number[];
  lutShape: number[];
  vectorAxis?: number;
  idx: string;
  /** bits per stored index: 8 = UINT8 as is; 4/2/1 = UINT8 [m,1] packed LSB-first; 'u4' = native UINT4 */
  pack: number | 'u4';
  /** the float table [G*L, V] (absent when lutQ holds it) */
  lut?: string;
  lutQ?: { qdtype: 'int8' | 'uint8'; q: string; scale: string; offset?: string };
  pcs?: { scale: string; shape: number[] };
}

export interface Fp16Meta extends MetaBase {
  k: 'fp16';
  src: string;
}

export type ChainMeta = AffineMeta | LutMeta | Fp16Meta;

export function parseMeta(doc: string | undefined): ChainMeta | undefined {
  if (!doc || !doc.startsWith(META_PREFIX)) return undefined;
  try {
    const m = JSON.parse(doc.slice(META_PREFIX.length)) as ChainMeta;
    if (typeof m.out !== 'string' || !Array.isArray(m.nodes) || !Array.isArray(m.inits)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What an emitter supplies; the chain fills in out, nodes and inits. */
export type MetaBody = DistributiveOmit<ChainMeta, 'nodes' | 'inits' | 'out'>;
