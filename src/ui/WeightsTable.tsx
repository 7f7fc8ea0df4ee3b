/** Every weight, sortable and filterable; a row click selects the weight for the histogram. */
import { useRenderCost } from './hooks';
import { useMemo, useState, type ReactNode } from 'react';
import type { WeightInfo } from '../core/model/types';
import { useOptimize, useWorkModel } from '../store/optimize';
import { useModel } from '../store/model';
import type { WeightStats } from '../../workers/stats';
import { fmtBytes, fmtCount, fmtPct, fmtShape } from './format';

export interface ExtraColumn {
  key: string;
  label: string;
  render(w: WeightInfo): ReactNode;
  sortValue?(w: WeightInfo): number | string;
}

type SortKey = string;

const BASE: { key: SortKey; label: string; value(w: WeightInfo, s?: WeightStats): number | string; numeric?: boolean }[] = [
  { key: 'name', label: 'Name', value: (w) => w.name },
  { key: 'op', label: 'Op type', value: (w) => w.opType },
  { key: 'consumers', label: 'Consumers', value: (w) => w.consumers.map((c) => `${c.type} ${c.name}`).join(', ') },
  { key: 'shape', label: 'Shape', value: (w) => w.count, numeric: true },
  { key: 'dtype', label: 'Dtype', value: (w) => w.dtype },
  { key: 'bytes', label: 'Bytes', value: (w) => w.bytes, numeric: true },
  { key: 'sparsity', label: 'Sparsity', value: (_w, s) => s?.sparsity ?? -1, numeric: true },
  { key: 'unique', label: 'Unique', value: (_w, s) => s?.unique ?? -1, numeric: true },
  { key: 'existing', label: 'Stored as', value: (w) => w.compression?.kind ?? '' },
];

/** optimizer columns go right after Bytes, so that they show without scrolling sideways */
const AFTER_BYTES = BASE.findIndex((c) => c.key === 'bytes') + 1;

function existingLabel(w: WeightInfo): string {
  const c = w.compression;
  if (!c) return 'dense';
  return [c.kind, c.nbits ? `${c.nbits}-bit` : '', c.granularity ?? ''].filter(Boolean).join(' ');
}

export function WeightsTable({ extra = [] }: { extra?: ExtraColumn[] }) {
  useRenderCost('WeightsTable');
  const model = useWorkModel();
  const loadedStats = useModel((s) => s.stats);
  const changed = useOptimize((s) => s.fusedChanged);
  // the statistics are the loaded model's: weights the fusion changed (or added) have none
  const stats = useMemo(() => {
    if (!changed) return loadedStats;
    const out: typeof loadedStats = {};
    for (const [id, s] of Object.entries(loadedStats)) if (!changed.has(id)) out[id] = s;
    return out;
  }, [loadedStats, changed]);
  const selectedId = useModel((s) => s.selectedId);
  const select = useModel((s) => s.select);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'index', dir: 1 });

  const rows = useMemo(() => {
    if (!model) return [];
    const f = filter.trim().toLowerCase();
    let list = model.weights.map((w, i) => ({ w, i }));
    if (f) {
      list = list.filter(({ w }) =>
        [w.name, w.opType, w.dtype, existingLabel(w), ...w.consumers.map((c) => `${c.name} ${c.type}`)].some((t) => t.toLowerCase().includes(f)),
      );
    }
    if (sort.key !== 'index') {
      const base = BASE.find((c) => c.key === sort.key);
      const ex = extra.find((c) => c.key === sort.key);
      const val = (w: WeightInfo) => (base ? base.value(w, stats[w.id]) : ex?.sortValue ? ex.sortValue(w) : 0);
      list.sort((a, b) => {
        const va = val(a.w);
        const vb = val(b.w);
        const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
        return c * sort.dir || a.i - b.i;
      });
    }
    return list;
  }, [model, filter, sort, stats, extra]);

  if (!model) return null;

  const header = (key: string, label: string, sortable = true) => {
    const active = sort.key === key;
    return (
      <th key={key} aria-sort={active ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'} scope="col">
        {sortable ? (
          <button
            type="button"
            className="th-sort"
            onClick={() => setSort((s) => (s.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: key === 'name' || key === 'op' ? 1 : -1 }))}
          >
            {label}
            {active ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
          </button>
        ) : (
          label
        )}
      </th>
    );
  };

  return (
    <section className="panel table-panel" aria-label="Weights">
      <div className="table-tools">
        <h2>Weights</h2>
        <label>
          Filter{' '}
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name, op, dtype…" data-testid="weights-filter" />
        </label>
        <span className="muted" data-testid="weights-shown">
          {rows.length} of {model.weights.length} shown
        </span>
      </div>
      <div className="table-scroll">
        <table className="weights" data-testid="weights-table">
          <thead>
            <tr>
              {BASE.slice(0, AFTER_BYTES).map((c) => header(c.key, c.label))}
              {extra.map((c) => header(c.key, c.label, !!c.sortValue))}
              {BASE.slice(AFTER_BYTES).map((c) => header(c.key, c.label))}
            </tr>
          </thead>
          <tbody>
            {rows.map(({ w }) => {
              const s = stats[w.id];
              const noStats = changed?.has(w.id) ? '—' : '…';
              return (
                <tr
                  key={w.id}
                  data-id={w.id}
                  className={w.id === selectedId ? 'selected' : undefined}
                  onClick={() => select(w.id)}
                  aria-selected={w.id === selectedId}
                >
                  <td className="name" title={w.id}>
                    <button type="button" className="link" onClick={() => select(w.id)}>
                      {w.name}
                    </button>
                  </td>
                  <td className="op" title={w.opType}>
                    {w.opType}
                  </td>
                  <td className="consumers" title={w.consumers.map((c) => `${c.type} ${c.name} (${c.param})`).join('\n')}>
                    {w.consumers.length === 0 ? '—' : w.consumers.length === 1 ? `${w.consumers[0].type} ${w.consumers[0].name}` : `${w.consumers.length} consumers`}
                  </td>
                  <td title={`${w.count} elements`}>{fmtShape(w.shape)}</td>
                  <td>{w.dtype}</td>
                  <td className="num" data-bytes={w.bytes}>
                    {fmtBytes(w.bytes)}
                  </td>
                  {extra.map((c) => (
                    <td key={c.key} className={`extra-${c.key}`}>
                      {c.render(w)}
                    </td>
                  ))}
                  <td className="num">{s ? fmtPct(s.sparsity) : noStats}</td>
                  <td className="num">{s ? fmtCount(s.unique) : noStats}</td>
                  <td>{existingLabel(w)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
