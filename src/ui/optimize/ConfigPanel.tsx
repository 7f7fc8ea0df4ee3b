/** Export and import of the configuration as a coremltools dict (JSON / YAML), and the Python that reproduces it. */
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import { describeError } from '../../core/errors';
import { configLabel } from '../../core/engine';
import { planFromText, planToJson, planToYaml, pythonSnippet } from '../../core/plan';
import { useModel } from '../../store/model';
import { useOptimize } from '../../store/optimize';
import { settingsFromPlan } from '../../store/settings';
import { saveText } from '../download';

export function ConfigPanel() {
  const model = useModel((s) => s.model);
  // the texts follow the plan in a background render, not inside the click or key press that changed it
  const plan = useDeferredValue(useOptimize((s) => s.plan));
  const enabled = useOptimize((s) => s.enabled);
  const target = useOptimize((s) => s.settings.target);
  const importNote = useOptimize((s) => s.importNote);
  const importPlan = useOptimize((s) => s.importPlan);
  const [text, setText] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [show, setShow] = useState<'json' | 'yaml' | 'python'>('json');
  const fileRef = useRef<HTMLInputElement>(null);
  // only the text shown is made (exports make theirs when clicked)
  const shown = useMemo(() => {
    if (!model || !plan || !enabled) return '';
    const base = model.summary.fileName.replace(/\.(mlpackage|mlmodel|onnx)(\.zip)?$/i, '');
    if (show === 'json') return planToJson(plan);
    if (show === 'yaml') return planToYaml(plan);
    return pythonSnippet(plan, model.summary.fileName.replace(/\.zip$/i, ''), `${base}.compressed.${model.summary.format}`);
  }, [model, plan, enabled, show]);
  if (!model) return null;

  const doImport = (src: string, fileName: string) => {
    try {
      const p = planFromText(src, target, fileName);
      const m = settingsFromPlan(p, (c) => configLabel(c));
      importPlan(p, m.exact, m.settings, m.byType, m.byName);
      setMsg({ ok: true, text: `Imported ${fileName}: ${p.steps.length} step${p.steps.length > 1 ? 's' : ''}, target ${p.target}` });
    } catch (e) {
      setMsg({ ok: false, text: describeError(e) });
    }
  };

  const base = model.summary.fileName.replace(/\.(mlpackage|mlmodel|onnx)(\.zip)?$/i, '');

  return (
    <section className="panel config" aria-label="Configuration" data-testid="config">
      <h2>Configuration</h2>
      {enabled && plan ? (
        <>
          <div className="tabs" role="tablist" aria-label="Format">
            {(['json', 'yaml', 'python'] as const).map((k) => (
              <button key={k} type="button" role="tab" aria-selected={show === k} className={show === k ? 'tab active' : 'tab'} onClick={() => setShow(k)}>
                {k === 'json' ? 'JSON' : k === 'yaml' ? 'YAML' : 'Python'}
              </button>
            ))}
          </div>
          <pre className="code" data-testid={`config-${show}`} tabIndex={0} aria-label={`Configuration as ${show}`}>
            {shown}
          </pre>
          <div className="row">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(shown)}>
              Copy
            </button>
            <button type="button" onClick={() => saveText(plan && enabled ? planToJson(plan) : '', `${base}.config.json`, 'application/json')} data-testid="export-json">
              Export JSON
            </button>
            <button type="button" onClick={() => saveText(plan && enabled ? planToYaml(plan) : '', `${base}.config.yaml`, 'application/yaml')} data-testid="export-yaml">
              Export YAML
            </button>
          </div>
        </>
      ) : (
        <p className="muted">Pick a preset or change a setting to see the configuration.</p>
      )}
      <h3>Import a coremltools config</h3>
      <div className="row">
        <button type="button" onClick={() => fileRef.current?.click()}>
          Import file…
        </button>
        <input
          ref={fileRef}
          type="file"
          accept=".json,.yaml,.yml"
          hidden
          data-testid="config-file"
          aria-label="Import a configuration file"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) doImport(await f.text(), f.name);
          }}
        />
      </div>
      <label className="stack">
        or paste JSON / YAML
        <textarea value={text} onChange={(e) => setText(e.target.value)} rows={4} data-testid="config-text" spellCheck={false} />
      </label>
      <button type="button" onClick={() => doImport(text, 'pasted config')} disabled={!text.trim()} data-testid="config-import">
        Import
      </button>
      {msg && (
        <p className={msg.ok ? 'ok' : 'error-inline'} role="status" data-testid="config-msg">
          {msg.text}
        </p>
      )}
      {importNote && <p className="hint">{importNote}</p>}
    </section>
  );
}
