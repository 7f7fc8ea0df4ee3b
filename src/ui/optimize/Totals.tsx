/** Before/after totals (exact bytes), the ratio, the size-weighted SNR, and the progress of work in flight. */
import { totalsOf, useOptimize, useWorkModel } from '../../store/optimize';
import { fmtBytes, fmtExact } from '../format';

export function Totals() {
  const model = useWorkModel();
  const results = useOptimize((s) => s.results);
  const errors = useOptimize((s) => s.errors);
  const done = useOptimize((s) => s.done);
  const total = useOptimize((s) => s.total);
  const enabled = useOptimize((s) => s.enabled);
  if (!model || !enabled) return null;
  const t = totalsOf(model, results);
  const before = model.summary.totalWeightBytes;
  const compressed = Object.values(results).filter((r) => r.status === 'compressed').length;
  const skipped = Object.values(results).filter((r) => r.status === 'skipped').length;
  const failed = Object.keys(errors).length;
  return (
    <div className="totals" data-testid="totals" data-before={before} data-after={t.bytes} data-done={t.done && done >= total ? 'yes' : 'no'}>
      <div className="progress-row">
        <label htmlFor="opt-progress">{done >= total ? 'Up to date' : 'Compressing…'}</label>
        <progress id="opt-progress" max={Math.max(1, total)} value={done} data-testid="opt-progress" />
        <span>
          {done}/{total}
        </span>
      </div>
      <dl>
        <dt>Weights before</dt>
        <dd data-testid="total-before">
          {fmtBytes(before)} <span className="muted">({fmtExact(before)} B)</span>
        </dd>
        <dt>Weights after</dt>
        <dd data-testid="total-after">
          <strong>{fmtBytes(t.bytes)}</strong> <span className="muted">({fmtExact(t.bytes)} B)</span>
        </dd>
        <dt>Ratio</dt>
        <dd data-testid="total-ratio">{t.bytes > 0 ? `${(before / t.bytes).toFixed(2)}× smaller (${((t.bytes / before) * 100).toFixed(1)}%)` : '–'}</dd>
        <dt>Bits / weight</dt>
        <dd data-testid="total-bpw">{model.summary.totalParams ? ((t.bytes * 8) / model.summary.totalParams).toFixed(2) : '–'}</dd>
        <dt>Weight SNR</dt>
        <dd data-testid="total-snr">{Number.isFinite(t.snrDb) ? `${t.snrDb.toFixed(1)} dB` : 'lossless'}</dd>
        <dt>Layers</dt>
        <dd data-testid="total-status">
          {compressed} compressed · {skipped} skipped{failed ? ` · ${failed} failed` : ''}
        </dd>
      </dl>
      {model.summary.format === 'onnx' && (
        <p className="hint" data-testid="onnx-bytes-note">
          ONNX: “after” counts the compressed payload the engine computes; depending on the opset the ONNX writer may store
          a little more (fp32 scales, zero points, uint8 indices). The written file's exact size shows under Download.
        </p>
      )}
    </div>
  );
}
