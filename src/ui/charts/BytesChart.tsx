/** Bytes per weight, in model order; with results, before and after side by side. */
import { useRenderCost } from '../hooks';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartLegend } from './ChartLegend';
import { bytesAxisOf } from './ticks';
import { useModel } from '../../store/model';
import { fmtBytes, fmtBytesAxis } from '../format';

export interface AfterBytes {
  (id: string): number | undefined;
}

export function BytesChart({ after }: { after?: AfterBytes }) {
  useRenderCost('BytesChart');
  const model = useModel((s) => s.model);
  const select = useModel((s) => s.select);
  if (!model || model.weights.length === 0) return null;
  const data = model.weights.map((w) => ({ id: w.id, name: w.name, before: w.bytes, after: after?.(w.id) }));
  const hasAfter = data.some((d) => d.after !== undefined);
  const y = bytesAxisOf(data, ['before', 'after'], 5, true);
  return (
    <figure className="panel chart" aria-label="Bytes per layer" data-testid="bytes-chart">
      <figcaption>Bytes per weight{hasAfter ? ': before and after' : ''}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 4, left: 8 }} onClick={(e) => {
          const id = (e as { activePayload?: { payload?: { id?: string } }[] } | null)?.activePayload?.[0]?.payload?.id;
          if (id) select(id);
        }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="name" hide />
          <YAxis type="number" domain={y.domain} ticks={y.ticks} allowDataOverflow tickFormatter={(v: number) => fmtBytesAxis(v)} width={70} />
          <Tooltip formatter={(v) => fmtBytes(Number(v))} isAnimationActive={false} />
          <Bar dataKey="before" name="before" fill="#8aa4c8" isAnimationActive={false} />
          {hasAfter && <Bar dataKey="after" name="after" fill="#2f7d4f" isAnimationActive={false} />}
        </BarChart>
      </ResponsiveContainer>
      {hasAfter && (
        <ChartLegend
          items={[
            { label: 'before', color: '#8aa4c8' },
            { label: 'after', color: '#2f7d4f' },
          ]}
        />
      )}
    </figure>
  );
}
