/** Per-layer bars: bytes before/after, bits per weight, palette size, sparsity, SNR. */
import { memo, useDeferredValue, useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Compressed, WeightResult } from '../../core/compress/types';
import type { LoadedModel } from '../../core/model/types';
import { useThrottled, useRenderCost, useStableRows } from '../hooks';
import { useModel } from '../../store/model';
import { useOptimize, useWorkModel } from '../../store/optimize';
import { fmtBytes } from '../format';

type Metric = 'bytes' | 'bpw' | 'lut' | 'sparsity' | 'snr';

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
  // the chart renders in the background (interruptible) and only when its data changed, never in the way of input
  const results = useThrottled(useDeferredValue(useOptimize((s) => s.results)), 200);
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
  const chart = useMemo(
    () => (
      <ResponsiveContainer width="100%" height={230}>
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
          {metric === 'bytes' ? <YAxis tickFormatter={(v: number) => fmtBytes(v)} width={70} /> : <YAxis width={50} />}
          <Tooltip formatter={(v, n) => (metric === 'bytes' ? [fmtBytes(Number(v)), n] : [Number(v).toFixed(2), n])} />
          <Legend />
          {metric === 'bytes' && <Bar dataKey="before" name="before" fill="#8aa4c8" isAnimationActive={false} />}
          {metric === 'bytes' && <Bar dataKey="after" name="after" fill="#2f7d4f" isAnimationActive={false} />}
          {metric === 'bpw' && <Bar dataKey="bpw" name="bits per weight" fill="#2b5fab" isAnimationActive={false} />}
          {metric === 'lut' && <Bar dataKey="lut" name="palette entries" fill="#8e44ad" isAnimationActive={false} />}
          {metric === 'sparsity' && <Bar dataKey="sparsity" name="sparsity %" fill="#d35400" isAnimationActive={false} />}
          {metric === 'snr' && <Bar dataKey="snr" name="SNR dB" fill="#16a085" isAnimationActive={false} />}
        </BarChart>
      </ResponsiveContainer>
    ),
    [rows, metric, select],
  );
  return (
    <figure className="panel chart" aria-label="Per-layer chart" data-testid="layer-chart" data-metric={metric}>
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
