/** What to draw over the selected weight's histogram: LUT centroids or the quantization grid of its first block. */
import type { AffineRepr, Compressed, LutRepr, WeightResult } from '../../core/compress/types';
import type { Overlay } from '../charts/Histogram';
import { fmtNum } from '../format';

const QRANGE: Record<AffineRepr['qdtype'], [number, number]> = { int8: [-128, 127], uint8: [0, 255], int4: [-8, 7], uint4: [0, 15] };

function lutValues(r: LutRepr): { values: number[]; caption: string } {
  const V = r.lutShape[r.lutShape.length - 1] || 1;
  const K = 2 ** r.nbits;
  const groups = r.lut.length / (K * V);
  const first = Array.from(r.lut.subarray(0, K * V));
  let values = V === 1 ? first : first.filter((_, i) => i % V === 0);
  if (r.perChannelScale) values = values.map((v) => v * r.perChannelScale!.scale[0]);
  return { values, caption: groups > 1 ? `${K} centroids of the first of ${groups} LUTs` : `${K} centroids` };
}

function affineValues(r: AffineRepr): { values: number[]; caption: string } {
  const [lo, hi] = QRANGE[r.qdtype];
  const s = r.scale[0];
  const o = r.offset ? r.offset[0] : 0;
  const values: number[] = [];
  for (let q = lo; q <= hi; q++) values.push((q - o) * s);
  const blocks = r.scale.length;
  return { values, caption: `${r.qdtype} grid${blocks > 1 ? ` of the first of ${blocks} blocks` : ''}, scale ${fmtNum(s)}` };
}

export function overlayFor(r: WeightResult | undefined): Overlay | undefined {
  if (!r || r.status !== 'compressed' || !r.repr) return undefined;
  const err = `SNR ${Number.isFinite(r.snrDb) ? r.snrDb.toFixed(1) + ' dB' : 'exact'} · max |err| ${fmtNum(r.maxAbsErr)}`;
  const repr: Compressed = r.repr;
  let inner: { values: number[]; caption: string } | undefined;
  let extra = '';
  if (repr.kind === 'lut') inner = lutValues(repr);
  else if (repr.kind === 'affine') inner = affineValues(repr);
  else if (repr.kind === 'nnlinear') {
    const values: number[] = [];
    for (let q = 0; q < 2 ** repr.nbits; q++) values.push(q * repr.scale[0] + repr.bias[0]);
    inner = { values, caption: `${repr.nbits}-bit grid of the first channel` };
  } else if (repr.kind === 'sparse') {
    extra = `${(r.sparsity * 100).toFixed(1)}% zeros`;
    if (repr.inner?.kind === 'lut') inner = lutValues(repr.inner);
    else if (repr.inner?.kind === 'affine') inner = affineValues(repr.inner);
  }
  return {
    label: r.label,
    values: inner?.values ?? [],
    caption: [inner?.caption, extra, err].filter(Boolean).join(' · '),
  };
}
