import { memo, useDeferredValue, useMemo } from 'react';
import type { WeightResult } from '../../core/compress/types';
import type { LoadedModel } from '../../core/model/types';
/** Before/after bytes by dtype and by layer kind (the consumer op type). */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartLegend } from '../charts/ChartLegend';
import { bytesAxisOf } from '../charts/ticks';
import { useHover, useThrottled, useRenderCost, useStableRows } from '../hooks';
import { useOptimize, useWorkModel } from '../../store/optimize';
import { fmtBytes, fmtBytesAxis } from '../format';

export function TotalsChart() {
  const model = useWorkModel();
  // the chart renders in the background (interruptible), at most every 900 ms while results stream in (a schedule
  // of its own, so that it does not redraw in the same task as the per-layer chart), and only when its data changed
  const settled = useOptimize((s) => s.done >= s.total);
  const results = useThrottled(useDeferredValue(useOptimize((s) => s.results)), 900, settled, 150);
  const enabled = useOptimize((s) => s.enabled);
  if (!model || !enabled) return null;
  return <TotalsChartView model={model} results={results} />;
}

const TotalsChartView = memo(function TotalsChartView({ model, results }: { model: LoadedModel; results: Record<string, WeightResult> }) {
  useRenderCost('TotalsChart');
  const [hover, hoverProps] = useHover();
  // by storage: before, each weight's dtype; after, a compressed weight counts under its new storage kind
  const byDtype = new Map<string, { before: number; after: number }>();
  const byKind = new Map<string, { before: number; after: number }>();
  const add = (m: Map<string, { before: number; after: number }>, k: string, before: number, after: number) => {
    const e = m.get(k) ?? { before: 0, after: 0 };
    e.before += before;
    e.after += after;
    m.set(k, e);
  };
  for (const w of model.weights) {
    const r = results[w.id];
    const compressed = r?.status === 'compressed';
    const after = compressed ? r.bytesAfter : w.bytes;
    add(byDtype, w.dtype, w.bytes, compressed ? 0 : w.bytes);
    if (compressed) add(byDtype, storageKind(r), 0, r.bytesAfter);
    add(byKind, w.consumers[0]?.type ?? w.opType, w.bytes, after);
  }
  const data = useStableRows([...byDtype, ...byKind].map(([k, v]) => ({ name: k, ...v })));
  // the same rows: the same chart element, which React does not render again
  const chart = useMemo(() => {
    const y = bytesAxisOf(data, ['before', 'after'], 5, true);
    return (
      <>
        <ResponsiveContainer width="100%" height={210}>
          <BarChart data={data} margin={{ top: 8, right: 8, bottom: 4, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" tick={{ fontSize: 11 }} interval={0} />
            <YAxis type="number" domain={y.domain} ticks={y.ticks} allowDataOverflow tickFormatter={(v: number) => fmtBytesAxis(v)} width={70} />
            {hover && <Tooltip formatter={(v) => fmtBytes(Number(v))} isAnimationActive={false} />}
            <Bar dataKey="before" fill="#8aa4c8" isAnimationActive={false} />
            <Bar dataKey="after" fill="#2f7d4f" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
        <ChartLegend
          items={[
            { label: 'before', color: '#8aa4c8' },
            { label: 'after', color: '#2f7d4f' },
          ]}
        />
      </>
    );
  }, [data, hover]);
  return (
    <figure className="panel chart" aria-label="Totals before and after" data-testid="totals-chart" {...hoverProps}>
      <figcaption>Before / after by storage (dtype or compressed form) and by layer kind</figcaption>
      {chart}
    </figure>
  );
});

function storageKind(r: WeightResult): string {
  switch (r.repr?.kind) {
    case 'lut':
      return `LUT ${r.repr.nbits}-bit`;
    case 'affine':
      return r.repr.qdtype;
    case 'sparse':
      return r.repr.inner ? `sparse+${r.repr.inner.kind === 'lut' ? 'LUT' : r.repr.inner.qdtype}` : 'sparse';
    case 'nnlinear':
      return `linear ${r.repr.nbits}-bit`;
    case 'dense':
      return r.repr.dtype;
    default:
      return r.label.split(' ')[0];
  }
}
