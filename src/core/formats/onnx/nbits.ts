/**
 * onnxruntime's com.microsoft.MatMulNBits (formats.md §8.5): B uint8 [N, k_blocks, blob] holds the codes of
 * W[K, N] transposed, LSB-first per row; scales [N, k_blocks]; zero points packed uint8 (default 2^(bits-1)).
 * Shown as an already-quantized weight; its representation is W's, as an AffineRepr.
 */
import type { AffineRepr } from '../../compress/types';
import { unpackLSB } from '../../tensor/pack';
import { DT, rawToFloat32 } from './dtypes';
import type { TensorSource } from './index';
import { num, type NodeP } from './schema';
import { readRaw, type TensorRef } from './tensor';

export interface NBitsInfo {
  nodeIndex: number;
  B: TensorRef;
  scales: TensorRef;
  zp?: TensorRef;
  K: number;
  N: number;
  bits: number;
  block: number;
  names: string[];
}

export function findMatMulNBits(n: NodeP, i: number, srcs: Map<string, TensorSource>): NBitsInfo | undefined {
  if (n.op_type !== 'MatMulNBits' || n.domain !== 'com.microsoft') return undefined;
  const [, b, s, z] = n.input ?? [];
  const get = (x?: string) => {
    const t = x ? srcs.get(x) : undefined;
    return t && (t.kind === 'init' || t.kind === 'const') ? t.ref : undefined;
  };
  const B = get(b);
  const scales = get(s);
  const zp = z ? get(z) : undefined;
  if (!B || !scales || (z && !zp) || B.dt !== DT.UINT8) return undefined;
  if (zp && zp.dt !== DT.UINT8) return undefined; // float zero points have no integer offset form
  const attr = (k: string, d?: number) => {
    const a = (n.attribute ?? []).find((x) => x.name === k);
    return a ? num(a.i) : d;
  };
  const K = attr('K');
  const N = attr('N');
  const bits = attr('bits', 4)!;
  const block = attr('block_size');
  if (!K || !N || !block || bits < 1 || bits > 8) return undefined;
  const kb = Math.ceil(K / block);
  if (B.count !== N * kb * ((block * bits) / 8) || scales.count !== N * kb) return undefined;
  return { nodeIndex: i, B, scales, zp, K, N, bits, block, names: [b, s, ...(z ? [z] : [])] };
}

export async function readNBitsRepr(x: NBitsInfo): Promise<AffineRepr> {
  const { K, N, bits, block } = x;
  const kb = Math.ceil(K / block);
  const rowBytes = (kb * block * bits) / 8;
  const raw = await readRaw(x.B);
  const data = new Uint8Array(K * N);
  for (let n = 0; n < N; n++) {
    const codes = unpackLSB(raw.subarray(n * rowBytes, (n + 1) * rowBytes), bits, kb * block);
    for (let k = 0; k < K; k++) data[k * N + n] = codes[k];
  }
  const sc = rawToFloat32(x.scales.dt, await readRaw(x.scales), N * kb);
  const zpRow = Math.ceil((kb * bits) / 8);
  const zraw = x.zp ? await readRaw(x.zp) : undefined;
  const zp = (n: number, b: number) => (zraw ? unpackLSB(zraw.subarray(n * zpRow, (n + 1) * zpRow), bits, kb)[b] : 1 << (bits - 1));
  const exact = K % block === 0;
  const rows = exact ? kb : K;
  const scale = new Float32Array(rows * N);
  const offset = new Uint8Array(rows * N);
  for (let n = 0; n < N; n++)
    for (let r = 0; r < rows; r++) {
      const b = exact ? r : Math.floor(r / block);
      scale[r * N + n] = sc[n * kb + b];
      offset[r * N + n] = zp(n, b);
    }
  return {
    kind: 'affine',
    dtype: x.scales.dt === DT.FLOAT16 ? 'fp16' : 'fp32',
    qdtype: bits <= 4 ? 'uint4' : 'uint8',
    shape: [K, N],
    data,
    scale,
    scaleShape: [rows, N],
    offset,
  };
}
