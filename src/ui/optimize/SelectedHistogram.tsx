import { useDeferredValue, useMemo } from 'react';
import { useModel } from '../../store/model';
import { useOptimize } from '../../store/optimize';
import { Histogram, type Overlay } from '../charts/Histogram';
import { overlayFor } from './overlay';

export function SelectedHistogram() {
  const selectedId = useModel((s) => s.selectedId);
  const r = useDeferredValue(useOptimize((s) => (selectedId && s.enabled ? s.results[selectedId] : undefined)));
  // the histogram is of the weight as loaded: a weight the fusion changed gets no grid or centroids drawn over it
  const fusedAway = useOptimize((s) => !!selectedId && !!s.fusedChanged?.has(selectedId));
  const overlay = useMemo<Overlay | undefined>(
    () =>
      fusedAway
        ? { label: 'fused with the batchnorm/scale/bias after it before quantizing: the histogram shows the weight as loaded', values: [] }
        : r?.status === 'skipped'
          ? { label: `skipped: ${r.reason}`, values: [] }
          : overlayFor(r),
    [r, fusedAway],
  );
  return <Histogram overlay={overlay} />;
}
