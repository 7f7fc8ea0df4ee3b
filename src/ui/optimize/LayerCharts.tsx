/** Per-layer bars: bytes before/after, bits per weight, palette size, sparsity, SNR. */
import { memo, useDeferredValue, useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartLegend, type LegendItem } from '../charts/ChartLegend';
import { axisOf, bytesAxisOf } from '../charts/ticks';
import type { Compressed, WeightResult } from '../../core/compress/types';
import type { LoadedModel } from '../../core/model/types';
import { useHover, useThrottled, useRenderCost, useStableRows } from '../hooks';
import { useModel } from '../../store/model';
import { useOptimize, useWorkModel } from '../../store/optimize';
import { fmtBytes, fmtBytesAxis } from '../format';

type Metric = 'bytes' | 'bpw' | 'lut' | 'sparsity' | 'snr';

/** the bars of each metric: data key, name, colour */
const BARS: Record<Metric, { key: 'before' | 'after' | 'bpw' | 'lut' | 'sparsity' | 'snr'; name: string; color: string }[]> = {
  bytes: [
    { key: 'before', name: 'before', color: '#8aa4c8' },
    { key: 'after', name: 'after', color: '#2f7d4f' },
  ],
  bpw: [{ key: 'bpw', name: 'bits per weight', color: '#2b5fab' }],
  lut: [{ key: 'lut', name: 'palette entries', color: '#8e44ad' }],
  sparsity: [{ key: 'sparsity', name: 'sparsity %', color: '#d35400' }],
  snr: [{ key: 'snr', name: 'SNR dB', color: '#16a085' }],
};

const METRICS: { id: Metric; label: string }[] = [
  { id: 'bytes', label: 'Bytes before/after' },
  { id: 'bpw', label: 'Bits per weight' },
  { id: 'lut', label: 'Palette size' },
  { id: 'sparsity', label: 'Sparsity' },
  { id: 'snr', label: 'SNR (dB)' },
];

function lutEntries(r: Compressed | undefined): number | undefined {
  if (!r) return undefined;
  if (r.kind === 'lut') return 2 ** r.nbits;
  if (r.kind === 'sparse' && r.inner?.kind === 'lut') return 2 ** r.inner.nbits;
  return undefined;
}

export function LayerCharts() {
  const model = useWorkModel();
  const select = useModel((s) => s.select);
  // the chart renders in the background (interruptible), at most every 700 ms while results stream in, and only
  // when its data changed: the table and the totals show each result at once, the chart follows
  const settled = useOptimize((s) => s.done >= s.total);
  const results = useThrottled(useDeferredValue(useOptimize((s) => s.results)), 700, settled, 0);
  if (!model) return null;
  return <LayerChartsView model={model} results={results} select={select} />;
}

const LayerChartsView = memo(function LayerChartsView({
  model,
  results,
  select,
}: {
  model: LoadedModel;
  results: Record<string, WeightResult>;
  select: (id: string) => void;
}) {
  useRenderCost('LayerCharts');
  const [metric, setMetric] = useState<Metric>('bytes');
  const [hover, hoverProps] = useHover();
  const data = model.weights.map((w) => {
    const r = results[w.id];
    const c = r?.status === 'compressed';
    return {
      id: w.id,
      name: w.name,
      before: w.bytes,
      after: r ? (c ? r.bytesAfter : w.bytes) : undefined,
      bpw: r ? (c ? r.bitsPerWeight : (w.bytes * 8) / Math.max(1, w.count)) : undefined,
      lut: c ? lutEntries(r.repr) ?? (r.distinct <= 256 ? r.distinct : undefined) : undefined,
      sparsity: r ? r.sparsity * 100 : undefined,
      snr: c && Number.isFinite(r.snrDb) ? r.snrDb : undefined,
    };
  });
  const rows = useStableRows(data);
  // the same rows and metric: the same chart element, which React does not render again
  const chart = useMemo(() => {
    const bars = BARS[metric];
    // explicit ticks: recharts' own go through decimal.js on every update
    const y = metric === 'bytes' ? bytesAxisOf(rows, bars.map((b) => b.key), 5, true) : axisOf(rows, bars.map((b) => b.key), 5, true);
    const legend: LegendItem[] = bars.map((b) => ({ label: b.name, color: b.color }));
    return (
      <>
        <ResponsiveContainer width="100%" height={210}>
          <BarChart
            data={rows}
            margin={{ top: 8, right: 8, bottom: 4, left: 8 }}
            onClick={(e) => {
              const id = (e as { activePayload?: { payload?: { id?: string } }[] } | null)?.activePayload?.[0]?.payload?.id;
              if (id) select(id);
            }}
          >
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" hide />
            <YAxis
              type="number"
              domain={y.domain}
              ticks={y.ticks}
              allowDataOverflow
              tickFormatter={metric === 'bytes' ? (v: number) => fmtBytesAxis(v) : undefined}
              width={metric === 'bytes' ? 70 : 50}
            />
            {hover && <Tooltip formatter={(v, n) => (metric === 'bytes' ? [fmtBytes(Number(v)), n] : [Number(v).toFixed(2), n])} isAnimationActive={false} />}
            {bars.map((b) => (
              <Bar key={b.key} dataKey={b.key} name={b.name} fill={b.color} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
        <ChartLegend items={legend} />
      </>
    );
  }, [rows, metric, select, hover]);
  return (
    <figure className="panel chart" aria-label="Per-layer chart" data-testid="layer-chart" data-metric={metric} {...hoverProps}>
      <figcaption className="chart-head">
        <span>Per layer</span>
        <span role="tablist" aria-label="Metric">
          {METRICS.map((m) => (
            <button key={m.id} type="button" role="tab" aria-selected={metric === m.id} className={metric === m.id ? 'tab active' : 'tab'} onClick={() => setMetric(m.id)}>
              {m.label}
            </button>
          ))}
        </span>
      </figcaption>
      {chart}
    </figure>
  );
});
