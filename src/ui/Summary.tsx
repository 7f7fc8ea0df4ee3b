import { useModel } from '../store/model';
import { fmtBytes, fmtCount, fmtExact } from './format';

export function Summary() {
  const model = useModel((s) => s.model);
  if (!model) return null;
  const s = model.summary;
  const compressed = model.weights.filter((w) => w.compression).length;
  const dtypes = Object.entries(s.bytesByDtype).sort((a, b) => b[1] - a[1]);
  return (
    <section className="panel summary" aria-label="Model summary" data-testid="summary">
      <h2 title={s.fileName}>{s.fileName}</h2>
      <dl>
        <dt>Format</dt>
        <dd data-testid="summary-format">
          {s.format} · {s.modelType}
        </dd>
        {s.specificationVersion !== undefined && (
          <>
            <dt>Spec version</dt>
            <dd data-testid="summary-spec">
              {s.specificationVersion}
              {s.os ? ` (${s.os})` : ''}
            </dd>
          </>
        )}
        {s.opsets && s.opsets.length > 0 && (
          <>
            <dt>MIL opset</dt>
            <dd>{[...new Set(s.opsets)].join(', ')}</dd>
          </>
        )}
        {s.functions && s.functions.length > 1 && (
          <>
            <dt>Functions</dt>
            <dd>{s.functions.join(', ')}</dd>
          </>
        )}
        {s.onnx && (
          <>
            <dt>ONNX</dt>
            <dd data-testid="summary-onnx">
              IR {s.onnx.irVersion} · opset {s.onnx.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}
              {s.onnx.producer ? ` · ${s.onnx.producer}` : ''}
            </dd>
          </>
        )}
        <dt>Weights</dt>
        <dd data-testid="summary-weight-count">{s.weightCount}</dd>
        <dt>Parameters</dt>
        <dd data-testid="summary-params" title={fmtExact(s.totalParams)}>
          {fmtCount(s.totalParams)} ({fmtExact(s.totalParams)})
        </dd>
        <dt>Weight bytes</dt>
        <dd data-testid="summary-weight-bytes" data-bytes={s.totalWeightBytes}>
          {fmtBytes(s.totalWeightBytes)} ({fmtExact(s.totalWeightBytes)} B)
        </dd>
        <dt>File bytes</dt>
        <dd data-testid="summary-file-bytes" data-bytes={s.fileBytes}>
          {fmtBytes(s.fileBytes)} ({fmtExact(s.fileBytes)} B)
        </dd>
        {dtypes.length > 0 && (
          <>
            <dt>By dtype</dt>
            <dd>
              <ul className="dtype-list">
                {dtypes.map(([d, b]) => (
                  <li key={d}>
                    <code>{d}</code> {fmtBytes(b)}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
        {compressed > 0 && (
          <>
            <dt>Already compressed</dt>
            <dd data-testid="summary-precompressed">{compressed} weights</dd>
          </>
        )}
      </dl>
      {s.note && (
        <p className="note" data-testid="summary-note">
          {s.note}
        </p>
      )}
    </section>
  );
}
