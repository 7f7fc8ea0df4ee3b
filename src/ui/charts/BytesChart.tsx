/** Bytes per weight, in model order; with results, before and after side by side. */
import { useRenderCost } from '../hooks';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useModel } from '../../store/model';
import { fmtBytes } from '../format';

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
          <YAxis tickFormatter={(v: number) => fmtBytes(v)} width={70} />
          <Tooltip formatter={(v) => fmtBytes(Number(v))} />
          {hasAfter && <Legend />}
          <Bar dataKey="before" name="before" fill="#8aa4c8" isAnimationActive={false} />
          {hasAfter && <Bar dataKey="after" name="after" fill="#2f7d4f" isAnimationActive={false} />}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
