/**
 * Before/after totals, the ratio, the size-weighted SNR, and the progress of work in flight. Totals first: sizes
 * known from shapes and configs (store/predict.ts) show at once, exact; an estimate (pruning) or a size not known
 * before its result is labelled as pending; the error fills in as results arrive.
 */
import { totalsOf, useOptimize, useWorkModel } from '../../store/optimize';
import { fmtBytes, fmtExact } from '../format';

export function Totals() {
  const model = useWorkModel();
  const results = useOptimize((s) => s.results);
  const predicted = useOptimize((s) => s.predicted);
  const errors = useOptimize((s) => s.errors);
  const done = useOptimize((s) => s.done);
  const total = useOptimize((s) => s.total);
  const enabled = useOptimize((s) => s.enabled);
  if (!model || !enabled) return null;
  const t = totalsOf(model, results, predicted);
  const exact = t.estimated === 0 && t.unknown === 0;
  const pendingNote = t.done
    ? null
    : exact
      ? `exact: ${t.exactPending} layer${t.exactPending === 1 ? '' : 's'} from shapes and configs, results pending`
      : `pending: ${t.estimated ? `${t.estimated} estimated` : ''}${t.estimated && t.unknown ? ', ' : ''}${t.unknown ? `${t.unknown} counted as stored until their result` : ''}`;
  const approx = exact ? '' : '≈ ';
  const before = model.summary.totalWeightBytes;
  const compressed = Object.values(results).filter((r) => r.status === 'compressed').length;
  const skipped = Object.values(results).filter((r) => r.status === 'skipped').length;
  const failed = Object.keys(errors).length;
  return (
    <div
      className="totals"
      data-testid="totals"
      data-before={before}
      data-after={t.bytes}
      data-after-exact={exact ? 'yes' : 'no'}
      data-done={t.done && done >= total ? 'yes' : 'no'}
    >
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
          <strong>
            {approx}
            {fmtBytes(t.bytes)}
          </strong>{' '}
          <span className="muted">({fmtExact(t.bytes)} B)</span>
          {pendingNote && (
            <span className="pending" data-testid="total-after-note">
              {' '}
              · {pendingNote}
            </span>
          )}
        </dd>
        <dt>Ratio</dt>
        <dd data-testid="total-ratio">{t.bytes > 0 ? `${approx}${(before / t.bytes).toFixed(2)}× smaller (${((t.bytes / before) * 100).toFixed(1)}%)` : '–'}</dd>
        <dt>Bits / weight</dt>
        <dd data-testid="total-bpw">{model.summary.totalParams ? `${approx}${((t.bytes * 8) / model.summary.totalParams).toFixed(2)}` : '–'}</dd>
        <dt>Weight SNR</dt>
        <dd data-testid="total-snr">
          {t.landed === 0 && !t.done ? 'pending' : Number.isFinite(t.snrDb) ? `${t.snrDb.toFixed(1)} dB` : 'lossless'}
          {!t.done && t.landed > 0 && <span className="pending"> · so far ({t.landed}/{model.weights.length} layers)</span>}
        </dd>
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
