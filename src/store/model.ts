/**
 * The loaded model and its inventory. A load happens into a fresh object and is swapped in only when it
 * succeeded: a bad file shows its error and leaves whatever was loaded before untouched.
 */
import * as Comlink from 'comlink';
import { create } from 'zustand';
import { describeError } from '../core/errors';
import { loadModel } from '../core/formats';
import type { FileTree } from '../core/io/source';
import type { LoadedModel } from '../core/model/types';
import { isAbort } from '../../workers/pool';
import type { WeightStats } from '../../workers/stats';
import { browserTree, type NamedFile } from '../ui/files/tree';
import { getPool, transferable } from './pool';
import { denseInput } from './locate';

export interface ModelState {
  model: LoadedModel | null;
  /** the tree `model` was loaded from (kept so that a NeuralNetwork model can be fused before quantizing) */
  tree: FileTree | null;
  /** increases on every successful load (keys caches and stale checks) */
  generation: number;
  loading: string | null;
  error: string | null;
  stats: Record<string, WeightStats>;
  statsErrors: Record<string, string>;
  statsDone: number;
  statsTotal: number;
  selectedId: string | null;
  select(id: string | null): void;
  dismissError(): void;
  loadTree(tree: FileTree): Promise<boolean>;
  loadFiles(files: NamedFile[], name?: string): Promise<boolean>;
  loadSample(url: string, fileName: string): Promise<boolean>;
}

let statsAbort: AbortController | null = null;
let loadToken = 0;

export const useModel = create<ModelState>((set, get) => ({
  model: null,
  tree: null,
  generation: 0,
  loading: null,
  error: null,
  stats: {},
  statsErrors: {},
  statsDone: 0,
  statsTotal: 0,
  selectedId: null,
  select: (id) => set({ selectedId: id }),
  dismissError: () => set({ error: null }),

  async loadTree(tree) {
    const token = ++loadToken;
    set({ loading: tree.name, error: null });
    let model: LoadedModel;
    try {
      model = await loadModel(tree);
    } catch (e) {
      if (token === loadToken) set({ loading: null, error: describeError(e) });
      return false;
    }
    // a newer load started meanwhile: it wins, this one is dropped whole
    if (token !== loadToken) return false;
    statsAbort?.abort();
    const generation = get().generation + 1;
    const first = [...model.weights].sort((a, b) => b.bytes - a.bytes)[0];
    set({
      model,
      tree,
      generation,
      loading: null,
      error: null,
      stats: {},
      statsErrors: {},
      statsDone: 0,
      statsTotal: model.weights.length,
      selectedId: first?.id ?? null,
    });
    computeStats(model, generation);
    return true;
  },

  async loadFiles(files, name) {
    if (files.length === 0) {
      set({ error: 'Nothing to load: no files were given' });
      return false;
    }
    return get().loadTree(browserTree(files, name));
  },

  async loadSample(url, fileName) {
    set({ loading: fileName, error: null });
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${fileName}: could not fetch the sample (${res.status} ${res.statusText})`);
      const blob = await res.blob();
      return await get().loadFiles([{ path: fileName, file: blob }]);
    } catch (e) {
      set({ loading: null, error: describeError(e) });
      return false;
    }
  },
}));

/** Results land in the store at most once per frame, so that many small tensors do not re-render the table each. */
let queue: { id: string; stats?: WeightStats; error?: string }[] = [];
let scheduled = false;
function flushSoon(): void {
  if (scheduled) return;
  scheduled = true;
  const run = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    useModel.setState((st) => {
      const stats = { ...st.stats };
      const statsErrors = { ...st.statsErrors };
      for (const b of batch) {
        if (b.stats) stats[b.id] = b.stats;
        else statsErrors[b.id] = b.error ?? 'failed';
      }
      return { stats, statsErrors, statsDone: st.statsDone + batch.length };
    });
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
  else setTimeout(run, 16);
}

/** Streams statistics in from the worker pool, smallest tensors first so the table fills quickly. */
function computeStats(model: LoadedModel, generation: number): void {
  queue = [];
  const ctl = new AbortController();
  statsAbort = ctl;
  const pool = getPool();
  const order = [...model.weights].sort((a, b) => a.count - b.count);
  for (const w of order) {
    pool
      .run(
        async (api) => {
          // dense float weights go over as stored (fp16: statistics from its bit patterns in the worker); compressed ones decompressed
          if (!w.compression && (w.dtype === 'fp16' || w.dtype === 'fp32')) {
            // read by the worker where the bytes sit in a File (locate.ts), else read here and transferred
            const { input, transfer } = await denseInput(model, w.id);
            return api.statsDense(Comlink.transfer(input, transfer));
          }
          if (!w.compression) {
            // integer tensors and the like: their float values as the reader gives them
            const values = transferable(await model.readFloat32(w.id));
            return api.stats(Comlink.transfer(values, [values.buffer]));
          }
          // already compressed: the stored representation goes over (copied: its arrays may be views into the
          // model's own buffers) and is decompressed in the worker; decompress(readRepr) equals readFloat32 bit for
          // bit on every compressed weight of the golden models
          return api.statsRepr(await model.readRepr(w.id));
        },
        { signal: ctl.signal, key: `stats|${generation}|${w.id}` },
      )
      .then(
        (s) => {
          if (useModel.getState().generation !== generation) return;
          queue.push({ id: w.id, stats: s });
          flushSoon();
        },
        (e) => {
          if (isAbort(e) || useModel.getState().generation !== generation) return;
          queue.push({ id: w.id, error: describeError(e) });
          flushSoon();
        },
      );
  }
}
