/**
 * Writing the compressed model: every result with its representation (cached ones cost nothing), writeModel,
 * then a .zip (streamed, Zip64) or a folder for an .mlpackage, and the file itself for .mlmodel / .onnx. The exact
 * bytes before and after show before anything is saved.
 */
import { useState } from 'react';
import type { WrittenModel } from '../../core/model/types';
import { describeError } from '../../core/errors';
import { writeModel } from '../../core/formats/write';
import { zipFiles } from '../../core/io/zip';
import { fullResults } from '../../store/engine';
import { useModel } from '../../store/model';
import { useOptimize, useWorkModel } from '../../store/optimize';
import { tagFor } from '../../store/settings';
import { blobFromChunks, saveBlob } from '../download';
import { fmtBytes, fmtExact } from '../format';

interface Prepared {
  written: WrittenModel;
  bytes: number;
  zipBytes?: number;
  planJson: string;
}

type DirHandle = {
  getDirectoryHandle(name: string, o?: { create?: boolean }): Promise<DirHandle>;
  getFileHandle(name: string, o?: { create?: boolean }): Promise<{ createWritable(): Promise<{ write(d: Uint8Array): Promise<void>; close(): Promise<void>; abort?(): Promise<void> }> }>;
};

async function writeToFolder(root: DirHandle, w: WrittenModel): Promise<void> {
  const top = await root.getDirectoryHandle(w.name, { create: true });
  for (const f of w.files) {
    const parts = f.path.split('/');
    let dir = top;
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
    const fh = await dir.getFileHandle(parts[parts.length - 1], { create: true });
    const out = await fh.createWritable();
    try {
      for await (const c of f.chunks()) await out.write(c);
      await out.close();
    } catch (e) {
      await out.abort?.();
      throw e;
    }
  }
}

export function DownloadPanel() {
  const loaded = useModel((s) => s.model);
  // what is written: the model the optimizer worked on (the fused one for a NeuralNetwork model quantized below 16 bits)
  const model = useWorkModel();
  const fusing = useOptimize((s) => s.fusing);
  const enabled = useOptimize((s) => s.enabled);
  const plan = useOptimize((s) => s.plan);
  const done = useOptimize((s) => s.done);
  const total = useOptimize((s) => s.total);
  const errors = useOptimize((s) => s.errors);
  const planError = useOptimize((s) => s.planError);
  const settings = useOptimize((s) => s.settings);
  const byName = useOptimize((s) => s.byName);
  const byType = useOptimize((s) => s.byType);
  const st = { enabled, plan, done, total, errors, planError, settings, byName, byType };
  const [busy, setBusy] = useState(false);
  const [prep, setPrep] = useState<Prepared | null>(null);
  const [err, setErr] = useState<string | null>(null);
  if (!model || !loaded || !st.enabled || !st.plan) return null;
  const planJson = JSON.stringify(st.plan);
  const stale = prep && prep.planJson !== planJson;
  const upToDate = st.done >= st.total && Object.keys(st.errors).length === 0 && !st.planError && !fusing;

  const prepare = async () => {
    setBusy(true);
    setErr(null);
    setPrep(null);
    try {
      const plan = st.plan!;
      const results = await fullResults(model, plan);
      const tag = tagFor(st.settings, Object.keys(st.byName).length + Object.keys(st.byType).length) || 'compressed';
      const written = await writeModel(model, results, { plan, tag });
      const bytes = written.files.reduce((a, f) => a + f.size, 0);
      const zipBytes = written.format === 'mlpackage' || written.files.length > 1 ? zipFiles(written.files, written.name).size : undefined;
      setPrep({ written, bytes, zipBytes, planJson });
    } catch (e) {
      setErr(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const save = async (asFolder: boolean) => {
    if (!prep) return;
    setBusy(true);
    setErr(null);
    try {
      const w = prep.written;
      if (asFolder) {
        const picker = (window as unknown as { showDirectoryPicker(o: object): Promise<DirHandle> }).showDirectoryPicker;
        await writeToFolder(await picker({ mode: 'readwrite' }), w);
      } else if (w.files.length === 1 && w.format !== 'mlpackage') {
        saveBlob(await blobFromChunks(w.files[0].chunks()), w.name);
      } else {
        saveBlob(await blobFromChunks(zipFiles(w.files, w.name).chunks(), 'application/zip'), `${w.name}.zip`);
      }
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') setErr(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const canFolder = typeof (window as unknown as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
  const before = loaded.summary.fileBytes;
  return (
    <section className="panel download" aria-label="Download" data-testid="download">
      <h2>Download</h2>
      <button type="button" className="primary" onClick={() => void prepare()} disabled={busy || !upToDate} data-testid="prepare">
        {busy && !prep ? 'Writing…' : 'Write compressed model'}
      </button>
      {!upToDate && <p className="hint">{st.planError ? 'The settings are not valid for this model: see above.' : 'Waiting for the compression to finish.'}</p>}
      {err && (
        <p className="error-inline" role="alert" data-testid="download-error">
          {err}
        </p>
      )}
      {prep && (
        <div data-testid="prepared" data-before={before} data-after={prep.bytes} data-name={prep.written.name}>
          {stale && <p className="hint">Settings changed since this was written: write again to include them.</p>}
          <dl>
            <dt>Name</dt>
            <dd>
              <code>{prep.written.name}</code>
            </dd>
            <dt>Before</dt>
            <dd data-testid="dl-before">
              {fmtBytes(before)} ({fmtExact(before)} B)
            </dd>
            <dt>After</dt>
            <dd data-testid="dl-after">
              {fmtBytes(prep.bytes)} ({fmtExact(prep.bytes)} B) · {((prep.bytes / before) * 100).toFixed(1)}%
            </dd>
            {prep.zipBytes !== undefined && (
              <>
                <dt>As .zip</dt>
                <dd>{fmtExact(prep.zipBytes)} B</dd>
              </>
            )}
          </dl>
          <div className="row">
            <button type="button" onClick={() => void save(false)} disabled={busy} data-testid="save">
              {prep.zipBytes !== undefined ? `Download ${prep.written.name}.zip` : `Download ${prep.written.name}`}
            </button>
            {prep.written.format === 'mlpackage' && canFolder && (
              <button type="button" onClick={() => void save(true)} disabled={busy}>
                Save into a folder…
              </button>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
