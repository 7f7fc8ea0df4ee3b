import { useModel } from '../../store/model';
import { useOptimize } from '../../store/optimize';
import { Histogram } from '../charts/Histogram';
import { overlayFor } from './overlay';

export function SelectedHistogram() {
  const selectedId = useModel((s) => s.selectedId);
  const r = useOptimize((s) => (selectedId && s.enabled ? s.results[selectedId] : undefined));
  const overlay = r?.status === 'skipped' ? { label: `skipped: ${r.reason}`, values: [] } : overlayFor(r);
  return <Histogram overlay={overlay} />;
}
