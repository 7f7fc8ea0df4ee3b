/** Presets and global settings. Options the deployment target does not allow are disabled, with the reason shown. */
import { useId } from 'react';
import type { Target } from '../../core/compress/types';
import { useModel } from '../../store/model';
import { presetRefusal, useOptimize } from '../../store/optimize';
import { modelTarget } from '../../core/plan/target';
import { PRESETS, applyPreset, type Method, type Settings } from '../../store/settings';
import { OpTypeOverrides } from './OpTypeOverrides';
import { Totals } from './Totals';

const IOS18 = 'needs iOS18';

function Field({ label, children, hint, hintId }: { label: string; children: (id: string) => React.ReactNode; hint?: string; hintId?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && (
        <small className="hint" id={`${id}-hint`} data-testid={hintId}>
          {hint}
        </small>
      )}
    </div>
  );
}

function sameAsPreset(s: Settings, id: string): boolean {
  const p = PRESETS.find((x) => x.id === id)!;
  const a = applyPreset(s, p);
  return (Object.keys(p.settings) as (keyof Settings)[]).every((k) => JSON.stringify(a[k]) === JSON.stringify(s[k]));
}

export function OptimizerPanel() {
  const model = useModel((s) => s.model);
  const enabled = useOptimize((s) => s.enabled);
  const settings = useOptimize((s) => s.settings);
  const planError = useOptimize((s) => s.planError);
  const fusionNote = useOptimize((s) => s.fusionNote);
  const fusing = useOptimize((s) => s.fusing);
  const usePreset = useOptimize((s) => s.usePreset);
  const setSettings = useOptimize((s) => s.setSettings);
  const st = { enabled, settings, planError, usePreset, setSettings };
  const s = st.settings;
  if (!model) return null;
  const ios18 = s.target === 'iOS18';
  const pal = s.method === 'palettize' || s.method === 'prune+palettize';
  const q = s.method === 'quantize' || s.method === 'prune+quantize';
  const prune = s.method.startsWith('prune');
  const set = st.setSettings;
  const isNN = model.summary.format === 'mlmodel' && model.summary.modelType !== 'mlProgram';
  const mt = modelTarget(model.summary);
  const refusals = new Map<string, string>();
  for (const p of PRESETS) {
    const r = presetRefusal(model, p.id, s);
    if (r) refusals.set(p.id, r);
  }

  return (
    <section className="panel optimizer" aria-label="Compression settings" data-testid="optimizer">
      <h2>Compress</h2>
      <div className="presets" role="group" aria-label="Presets">
        {PRESETS.map((p) => {
          const active = st.enabled && sameAsPreset(s, p.id);
          const refused = refusals.get(p.id);
          return (
            <button
              key={p.id}
              type="button"
              aria-pressed={active}
              className={`preset${active ? ' active' : ''}${refused ? ' refused' : ''}`}
              onClick={() => st.usePreset(p.id)}
              data-preset={p.id}
              data-refused={refused ? 'yes' : undefined}
              title={refused}
            >
              {p.label}
            </button>
          );
        })}
      </div>
      {refusals.size > 0 && (
        <p className="hint refused-note" data-testid="presets-refused">
          Refused on this {mt.target} ML program, as coremltools refuses them: {[...refusals.keys()].map((id) => PRESETS.find((p) => p.id === id)!.label).join(', ')}{' '}
          (see the deployment target below).
        </p>
      )}
      {isNN && <p className="hint">NeuralNetwork .mlmodel: coremltools' quantization_utils path applies; iOS18 options do not.</p>}
      {isNN && enabled && fusing && (
        <p className="hint" data-testid="fusing">
          Fusing layers before quantizing…
        </p>
      )}
      {isNN && enabled && !fusing && fusionNote && (
        <p className="hint fusion-note" data-testid="fusion-note">
          {fusionNote}. The table, totals and download show the fused model.
        </p>
      )}
      <div className="fields">
        <Field label="Deployment target" hint={mt.reason} hintId="target-reason">
          {(id) => (
            <select
              id={id}
              value={s.target}
              onChange={(e) => set({ target: e.target.value as Target })}
              disabled={mt.fixed}
              aria-describedby={`${id}-hint`}
              data-testid="target"
            >
              <option value="iOS16">iOS16 / macOS13</option>
              <option value="iOS17">iOS17 / macOS14</option>
              <option value="iOS18">iOS18 / macOS15</option>
            </select>
          )}
        </Field>
        <Field label="Method">
          {(id) => (
            <select id={id} value={s.method} onChange={(e) => set({ method: e.target.value as Method })} data-testid="method">
              <option value="palettize">Palettize (LUT)</option>
              <option value="quantize">Linear quantize</option>
              <option value="prune">Prune</option>
              <option value="prune+palettize" disabled={!ios18}>
                Prune + palettize{ios18 ? '' : ` (${IOS18})`}
              </option>
              <option value="prune+quantize" disabled={!ios18}>
                Prune + quantize{ios18 ? '' : ` (${IOS18})`}
              </option>
            </select>
          )}
        </Field>
        {pal && (
          <>
            <Field label="Palettization mode">
              {(id) => (
                <select id={id} value={s.palMode} onChange={(e) => set({ palMode: e.target.value as Settings['palMode'] })}>
                  <option value="kmeans">kmeans</option>
                  <option value="uniform">uniform</option>
                  <option value="unique">unique</option>
                </select>
              )}
            </Field>
            {s.palMode !== 'unique' && (
              <Field label="Bits (LUT size)" hint={`${2 ** s.nbits} palette entries`}>
                {(id) => (
                  <select id={id} value={s.nbits} onChange={(e) => set({ nbits: Number(e.target.value) })} data-testid="nbits">
                    {[1, 2, 3, 4, 6, 8].map((b) => (
                      <option key={b} value={b} disabled={b === 3 && !ios18}>
                        {b}
                        {b === 3 && !ios18 ? ` (${IOS18})` : ''}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            <Field label="Granularity">
              {(id) => (
                <select id={id} value={s.palGranularity} onChange={(e) => set({ palGranularity: e.target.value as Settings['palGranularity'] })}>
                  <option value="per_tensor">per_tensor</option>
                  <option value="per_grouped_channel" disabled={!ios18}>
                    per_grouped_channel{ios18 ? '' : ` (${IOS18})`}
                  </option>
                </select>
              )}
            </Field>
            {s.palGranularity === 'per_grouped_channel' && (
              <Field label="Group size">
                {(id) => <input id={id} type="number" min={1} step={1} value={s.groupSize} onChange={(e) => set({ groupSize: Math.max(1, Number(e.target.value) || 1) })} />}
              </Field>
            )}
          </>
        )}
        {q && (
          <>
            <Field label="Integer type">
              {(id) => (
                <select id={id} value={s.qDtype} onChange={(e) => set({ qDtype: e.target.value as Settings['qDtype'] })} data-testid="qdtype">
                  <option value="int8">int8</option>
                  <option value="uint8">uint8</option>
                  <option value="int4" disabled={!ios18}>
                    int4{ios18 ? '' : ` (${IOS18})`}
                  </option>
                  <option value="uint4" disabled={!ios18}>
                    uint4{ios18 ? '' : ` (${IOS18})`}
                  </option>
                </select>
              )}
            </Field>
            <Field label="Quantization mode">
              {(id) => (
                <select id={id} value={s.qMode} onChange={(e) => set({ qMode: e.target.value as Settings['qMode'] })}>
                  <option value="linear_symmetric">linear_symmetric</option>
                  <option value="linear">linear</option>
                </select>
              )}
            </Field>
            <Field label="Granularity">
              {(id) => (
                <select id={id} value={s.qGranularity} onChange={(e) => set({ qGranularity: e.target.value as Settings['qGranularity'] })}>
                  <option value="per_tensor">per_tensor</option>
                  <option value="per_channel">per_channel</option>
                  <option value="per_block" disabled={!ios18}>
                    per_block{ios18 ? '' : ` (${IOS18})`}
                  </option>
                </select>
              )}
            </Field>
            {s.qGranularity === 'per_block' && (
              <Field label="Block size">
                {(id) => <input id={id} type="number" min={1} step={1} value={s.blockSize} onChange={(e) => set({ blockSize: Math.max(1, Number(e.target.value) || 1) })} />}
              </Field>
            )}
          </>
        )}
        {prune && (
          <>
            <Field label="n:m pattern">
              {(id) => (
                <select
                  id={id}
                  value={s.nm ? `${s.nm[0]}:${s.nm[1]}` : ''}
                  onChange={(e) => set({ nm: e.target.value ? (e.target.value.split(':').map(Number) as [number, number]) : null })}
                >
                  <option value="">off (target sparsity)</option>
                  {['1:2', '2:4', '4:8', '1:4', '3:4'].map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {!s.nm && (
              <Field label={`Sparsity ${Math.round(s.sparsity * 100)}%`}>
                {(id) => (
                  <input
                    id={id}
                    type="range"
                    min={0.05}
                    max={0.95}
                    step={0.05}
                    value={s.sparsity}
                    onChange={(e) => set({ sparsity: Number(e.target.value) })}
                    data-testid="sparsity"
                  />
                )}
              </Field>
            )}
          </>
        )}
        <Field label="Weight threshold (elements)" hint="weights with this many elements or fewer stay as they are">
          {(id) => (
            <input id={id} type="number" min={0} step={1} value={s.weightThreshold} onChange={(e) => set({ weightThreshold: Math.max(0, Math.floor(Number(e.target.value) || 0)) })} />
          )}
        </Field>
      </div>
      {!ios18 && !mt.fixed && <p className="hint">Grouped LUTs, 3-bit LUTs, int4, per_block and joint compression need the iOS18 target.</p>}
      {st.planError && (
        <p className="error-inline" role="alert" data-testid="plan-error">
          {st.planError}
        </p>
      )}
      <OpTypeOverrides />
      <Totals />
    </section>
  );
}
