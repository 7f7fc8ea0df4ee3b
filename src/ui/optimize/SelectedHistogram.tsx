import { useDeferredValue, useMemo } from 'react';
import { useModel } from '../../store/model';
import { useOptimize } from '../../store/optimize';
import { Histogram, type Overlay } from '../charts/Histogram';
import { overlayFor } from './overlay';

export function SelectedHistogram() {
  const selectedId = useModel((s) => s.selectedId);
  const r = useDeferredValue(useOptimize((s) => (selectedId && s.enabled ? s.results[selectedId] : undefined)));
  const overlay = useMemo<Overlay | undefined>(() => (r?.status === 'skipped' ? { label: `skipped: ${r.reason}`, values: [] } : overlayFor(r)), [r]);
  return <Histogram overlay={overlay} />;
}
