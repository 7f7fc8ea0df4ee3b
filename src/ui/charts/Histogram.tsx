/** Histogram of the selected weight's values, with optional vertical marks (LUT centroids, quantization grid). */
import { useHover, useRenderCost } from '../hooks';
import { memo, useMemo } from 'react';
import type { WeightInfo } from '../../core/model/types';
import type { WeightStats } from '../../../workers/stats';
import { Bar, CartesianGrid, ComposedChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useModel } from '../../store/model';
import { axisOf, niceAxis } from './ticks';
import { fmtCountAxis, fmtNum, fmtPct, fmtShape } from '../format';

export interface Overlay {
  label: string;
  /** values to mark on the x axis (at most a few hundred are drawn) */
  values: number[];
  caption?: string;
}

export function Histogram({ overlay }: { overlay?: Overlay }) {
  const model = useModel((s) => s.model);
  const selectedId = useModel((s) => s.selectedId);
  const stats = useModel((s) => (s.selectedId ? s.stats[s.selectedId] : undefined));
  const statsError = useModel((s) => (s.selectedId ? s.statsErrors[s.selectedId] : undefined));
  const w = model?.weights.find((x) => x.id === selectedId);
  if (!model || !w) return null;
  return <HistogramView w={w} stats={stats} statsError={statsError} overlay={overlay} />;
}

const HistogramView = memo(function HistogramView({
  w,
  stats,
  statsError,
  overlay,
}: {
  w: WeightInfo;
  stats: WeightStats | undefined;
  statsError: string | undefined;
  overlay: Overlay | undefined;
}) {
  useRenderCost('Histogram');
  const [hover, hoverProps] = useHover();
  const bins = stats?.hist ?? [];
  const width = stats && bins.length ? (stats.histMax - stats.histMin) / bins.length : 0;
  // the bars depend on the weight's statistics only: a new overlay (LUT centroids as results land) redraws the
  // marks, not the recharts chart
  const bars = useMemo(() => {
    if (!stats) return null;
    const data = bins.map((c, i) => ({ x: stats.histMin + (i + 0.5) * width, count: c }));
    // explicit ticks (recharts' own go through decimal.js); the x domain stays the histogram's range, which the
    // LUT / grid marks drawn over the plot share
    const dom: [number, number] = [stats.histMin - width, stats.histMax + width];
    const xt = niceAxis(dom[0], dom[1], 5).ticks.filter((t) => t >= dom[0] && t <= dom[1]);
    const y = axisOf(data, ['count'], 5, true);
    return (
      <ResponsiveContainer width="100%" height={200}>
        <ComposedChart data={data} margin={{ top: 8, right: 8, bottom: 4, left: 8 }} barCategoryGap={0}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="x" type="number" domain={dom} ticks={xt.length >= 2 ? xt : undefined} allowDataOverflow tickFormatter={(v: number) => fmtNum(v)} />
          <YAxis type="number" domain={y.domain} ticks={y.ticks} allowDataOverflow width={50} tickFormatter={(v: number) => fmtCountAxis(v)} />
          {hover && <Tooltip labelFormatter={(v) => fmtNum(Number(v))} isAnimationActive={false} />}
          <Bar dataKey="count" fill="#8aa4c8" isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
    );
  }, [stats, bins, width, hover]);
  const marks = overlay ? thin(overlay.values, 128) : [];
  const lo = stats ? stats.histMin - width : 0;
  const hi = stats ? stats.histMax + width : 1;
  const thinned = overlay && overlay.values.length > marks.length ? ` (${marks.length} of ${overlay.values.length} drawn)` : '';
  return (
    <figure className="panel chart" aria-label={`Histogram of ${w.name}`} data-testid="histogram" {...hoverProps}>
      <figcaption>
        <strong>{w.name}</strong> <span className="muted">{fmtShape(w.shape)} {w.dtype}</span>
      </figcaption>
      {statsError ? (
        <p className="error-inline">{statsError}</p>
      ) : !stats ? (
        <p className="muted">Computing statistics…</p>
      ) : (
        <>
          <div className="hist-wrap">
          {bars}
          {marks.length > 0 && hi > lo && (
            // the marks are one plain SVG over the plot area (same x domain), not one chart element per mark
            <svg className="hist-marks" viewBox="0 0 1000 100" preserveAspectRatio="none" aria-hidden="true" data-testid="histogram-marks" data-count={marks.length}>
              {marks.map((v, i) => {
                const x = ((v - lo) / (hi - lo)) * 1000;
                return x >= 0 && x <= 1000 ? <line key={i} x1={x} x2={x} y1={0} y2={100} /> : null;
              })}
            </svg>
          )}
          </div>
          <p className="stats-line" data-testid="weight-stats">
            min {fmtNum(stats.min)} · max {fmtNum(stats.max)} · mean {fmtNum(stats.mean)} · std {fmtNum(stats.std)} · zeros {fmtPct(stats.sparsity)} · unique{' '}
            {stats.unique}
          </p>
          {overlay && (
            <p className="stats-line overlay-caption" data-testid="histogram-overlay">
              <span className="swatch red" /> {overlay.label}
              {overlay.caption ? ` · ${overlay.caption}` : ''}
              {thinned}
            </p>
          )}
        </>
      )}
    </figure>
  );
});

function thin(v: number[], max: number): number[] {
  if (v.length <= max) return v;
  const step = v.length / max;
  return Array.from({ length: max }, (_, i) => v[Math.floor(i * step)]);
}
