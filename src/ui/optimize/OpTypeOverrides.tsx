import { useModel } from '../../store/model';
import { useOptimize } from '../../store/optimize';
import { OverrideSelect } from './OverrideSelect';

/** One override per consumer op type (coremltools op_type_configs). */
export function OpTypeOverrides() {
  const model = useModel((s) => s.model);
  const byType = useOptimize((s) => s.byType);
  const setTypeOverride = useOptimize((s) => s.setTypeOverride);
  if (!model) return null;
  const types = [...new Set(model.weights.flatMap((w) => w.consumers.map((c) => c.type)))].sort();
  if (types.length === 0) return null;
  return (
    <details className="op-types">
      <summary>Per op type ({types.length})</summary>
      <div className="fields">
        {types.map((t) => (
          <div className="field" key={t}>
            <span>{t}</span>
            <OverrideSelect label={`Override for op type ${t}`} value={byType[t]} onChange={(o) => setTypeOverride(t, o)} />
          </div>
        ))}
      </div>
    </details>
  );
}
