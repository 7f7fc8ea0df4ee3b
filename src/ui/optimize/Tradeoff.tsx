import { memo, useDeferredValue } from 'react';
import type { WeightResult } from '../../core/compress/types';
import type { LoadedModel } from '../../core/model/types';
import type { Settings } from '../../store/settings';
/** Size against error, one point per candidate configuration, with the Pareto frontier and the current configuration. */
import { CartesianGrid, ComposedChart, Line, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartLegend, type LegendItem } from '../charts/ChartLegend';
import { axisOf, bytesAxisOf } from '../charts/ticks';
import { paretoFrontier } from '../../store/budget';
import { useHover, useThrottled, useRenderCost } from '../hooks';
import { candidateList, totalsOf, useOptimize, type Recipe, useWorkModel } from '../../store/optimize';
import { fmtBytes, fmtBytesAxis } from '../format';

export function Tradeoff() {
  const model = useWorkModel();
  const enabled = useOptimize((s) => s.enabled);
  const settings = useDeferredValue(useOptimize((s) => s.settings));
  // at most every 1.1 s while candidates and results stream in (its own schedule, apart from the other charts)
  const candidates = useThrottled(useDeferredValue(useOptimize((s) => s.candidates)), 1100);
  const settled = useOptimize((s) => s.done >= s.total);
  const results = useThrottled(useDeferredValue(useOptimize((s) => s.results)), 1100, settled, 300);
  const recipeState = useOptimize((s) => s.recipe);
  if (!model || !enabled) return null;
  return <TradeoffView model={model} settings={settings} candidates={candidates} results={results} recipeState={recipeState} />;
}

const TradeoffView = memo(function TradeoffView({
  model,
  settings,
  candidates,
  results,
  recipeState,
}: {
  model: LoadedModel;
  settings: Settings;
  candidates: Record<string, Record<string, WeightResult>>;
  results: Record<string, WeightResult>;
  recipeState: Recipe | null;
}) {
  useRenderCost('Tradeoff');
  const points = candidateList(settings)
    .map((c) => {
      const r = candidates[c.id];
      if (!r) return null;
      const t = totalsOf(model, r);
      // a lossless result (nothing compressed) has no place on an error axis: it is the model as it is
      return t.done && t.error > 0 ? { label: c.label, bytes: t.bytes, error: t.error, snr: t.snrDb } : null;
    })
    .filter((p): p is NonNullable<typeof p> => !!p);
  const cur = totalsOf(model, results);
  const current = cur.done && cur.error > 0 ? [{ label: 'current', bytes: cur.bytes, error: cur.error, snr: cur.snrDb }] : [];
  const recipe = recipeState && recipeState.error > 0 ? [{ label: 'budget recipe', bytes: recipeState.bytes, error: recipeState.error, snr: snrOf(recipeState.error, model.summary.totalParams) }] : [];
  const frontier = paretoFrontier([...points, ...current, ...recipe]);
  return <TradeoffChart points={points} current={current} recipe={recipe} frontier={frontier} />;
});

type Point = { label: string; bytes: number; error: number; snr: number };
interface ChartData {
  points: Point[];
  current: Point[];
  recipe: Point[];
  frontier: Point[];
}
const sameData = (a: ChartData, b: ChartData) =>
  (['points', 'current', 'recipe', 'frontier'] as const).every(
    (k) => a[k].length === b[k].length && a[k].every((p, i) => p.label === b[k][i].label && p.bytes === b[k][i].bytes && p.error === b[k][i].error),
  );

/**
 * The chart itself, redrawn only when a drawn point changes: candidates' partial results (a candidate is drawn once
 * all its weights are in) and unchanged totals leave it as it is, so most landings cost no recharts render.
 */
const TradeoffChart = memo(function TradeoffChart({ points, current, recipe, frontier }: ChartData) {
  useRenderCost('TradeoffChart');
  const [hover, hoverProps] = useHover();
  if (points.length === 0 && current.length === 0) {
    return (
      <figure className="panel chart" aria-label="Size versus error" data-testid="tradeoff" data-points={points.length}>
        <figcaption>Size vs weight error</figcaption>
        <p className="muted">No lossy result yet: candidates appear as they finish (a configuration that compresses nothing is not drawn).</p>
      </figure>
    );
  }
  const all = [...points, ...current, ...recipe];
  // explicit ticks: recharts' own go through decimal.js on every update
  const x = bytesAxisOf(all, ['bytes'], 5);
  const y = axisOf(all, ['snr'], 5);
  const legend: LegendItem[] = [
    { label: 'Pareto frontier', color: '#999', line: true },
    { label: 'candidates', color: '#2b5fab' },
    ...(recipe.length > 0 ? [{ label: 'budget recipe', color: '#8e44ad' }] : []),
    ...(current.length > 0 ? [{ label: 'current', color: '#c0392b' }] : []),
  ];
  return (
    <figure className="panel chart" aria-label="Size versus error" data-testid="tradeoff" data-points={points.length} {...hoverProps}>
      <figcaption>
        Size vs weight error (size-weighted SNR; higher is better) · {points.length} candidates
      </figcaption>
      <ResponsiveContainer width="100%" height={210}>
        <ComposedChart margin={{ top: 8, right: 12, bottom: 4, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="bytes" type="number" domain={x.domain} ticks={x.ticks} allowDataOverflow tickFormatter={(v: number) => fmtBytesAxis(v)} name="size" />
          <YAxis dataKey="snr" type="number" domain={y.domain} ticks={y.ticks} allowDataOverflow width={45} name="SNR dB" unit=" dB" />
          {hover && (
          <Tooltip
            isAnimationActive={false}
            formatter={(v, n) => (n === 'size' ? fmtBytes(Number(v)) : `${Number(v).toFixed(1)} dB`)}
            labelFormatter={() => ''}
            content={({ payload }) => {
              const p = payload?.[0]?.payload as { label: string; bytes: number; snr: number } | undefined;
              return p ? (
                <div className="tooltip">
                  <strong>{p.label}</strong>
                  <br />
                  {fmtBytes(p.bytes)} · {p.snr.toFixed(1)} dB
                </div>
              ) : null;
            }}
          />
          )}
          <Line data={frontier} dataKey="snr" name="Pareto frontier" stroke="#999" strokeDasharray="4 3" dot={false} isAnimationActive={false} legendType="plainline" />
          <Scatter data={points} name="candidates" fill="#2b5fab" isAnimationActive={false} />
          {recipe.length > 0 && <Scatter data={recipe} name="budget recipe" fill="#8e44ad" shape="diamond" isAnimationActive={false} />}
          {current.length > 0 && <Scatter data={current} name="current" fill="#c0392b" shape="star" isAnimationActive={false} />}
        </ComposedChart>
      </ResponsiveContainer>
      <ChartLegend items={legend} />
    </figure>
  );
}, sameData);

function snrOf(error: number, count: number): number {
  const rel = count ? error / count : 0;
  return rel > 0 ? -10 * Math.log10(rel) : 99;
}
