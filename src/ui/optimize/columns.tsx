/** The optimizer's columns in the weights table: override, status (with the skip reason), bytes after, SNR. */
import { useDeferredValue, useMemo } from 'react';
import type { WeightInfo } from '../../core/model/types';
import { useOptimize } from '../../store/optimize';
import type { ExtraColumn } from '../WeightsTable';
import { fmtBytes } from '../format';
import { OverrideSelect } from './OverrideSelect';

export function useOptimizerColumns(): ExtraColumn[] {
  const enabled = useOptimize((s) => s.enabled);
  const results = useDeferredValue(useOptimize((s) => s.results));
  const errors = useOptimize((s) => s.errors);
  const byName = useOptimize((s) => s.byName);
  const planError = useOptimize((s) => s.planError);
  const setOverride = useOptimize((s) => s.setOverride);
  return useMemo(() => {
    const cols: ExtraColumn[] = [
      {
        key: 'override',
        label: 'Config',
        render: (w: WeightInfo) => <OverrideSelect label={`Config for ${w.name}`} value={byName[w.name]} onChange={(o) => setOverride(w.name, o)} />,
      },
    ];
    if (!enabled) return cols;
    cols.push(
      {
        key: 'status',
        label: 'Status',
        sortValue: (w) => results[w.id]?.status ?? 'zz',
        render: (w) => {
          const r = results[w.id];
          if (errors[w.id]) return <span className="error-inline" title={errors[w.id]}>failed: {errors[w.id]}</span>;
          if (!r) return planError ? <span className="status-skipped">—</span> : <span className="status-pending">…</span>;
          if (r.status === 'skipped') return <span className="status-skipped" title={r.reason}>skipped: {r.reason}</span>;
          return <span className="status-compressed" title={r.label}>{r.label}</span>;
        },
      },
      {
        key: 'after',
        label: 'After',
        sortValue: (w) => results[w.id]?.bytesAfter ?? w.bytes,
        render: (w) => {
          const r = results[w.id];
          if (!r) return '…';
          const after = r.status === 'compressed' ? r.bytesAfter : w.bytes;
          return (
            <span className="num" data-after={after}>
              {fmtBytes(after)}
            </span>
          );
        },
      },
      {
        key: 'snr',
        label: 'SNR',
        sortValue: (w) => results[w.id]?.snrDb ?? Infinity,
        render: (w) => {
          const r = results[w.id];
          if (!r || r.status !== 'compressed') return '';
          return Number.isFinite(r.snrDb) ? `${r.snrDb.toFixed(1)} dB` : 'exact';
        },
      },
    );
    return cols;
  }, [enabled, results, errors, byName, setOverride, planError]);
}
