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

export interface ModelState {
  model: LoadedModel | null;
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

export const useModel = create<ModelState>((set, get) => ({
  model: null,
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
    set({ loading: tree.name, error: null });
    let model: LoadedModel;
    try {
      model = await loadModel(tree);
    } catch (e) {
      set({ loading: null, error: describeError(e) });
      return false;
    }
    statsAbort?.abort();
    const generation = get().generation + 1;
    const first = [...model.weights].sort((a, b) => b.bytes - a.bytes)[0];
    set({
      model,
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

/** Streams statistics in from the worker pool, smallest tensors first so the table fills quickly. */
function computeStats(model: LoadedModel, generation: number): void {
  const ctl = new AbortController();
  statsAbort = ctl;
  const pool = getPool();
  const order = [...model.weights].sort((a, b) => a.count - b.count);
  for (const w of order) {
    pool
      .run(
        async (api) => {
          const values = transferable(await model.readFloat32(w.id));
          return api.stats(Comlink.transfer(values, [values.buffer]));
        },
        { signal: ctl.signal, key: `stats|${generation}|${w.id}` },
      )
      .then(
        (s) => {
          if (useModel.getState().generation !== generation) return;
          useModel.setState((st) => ({ stats: { ...st.stats, [w.id]: s }, statsDone: st.statsDone + 1 }));
        },
        (e) => {
          if (isAbort(e) || useModel.getState().generation !== generation) return;
          useModel.setState((st) => ({
            statsErrors: { ...st.statsErrors, [w.id]: describeError(e) },
            statsDone: st.statsDone + 1,
          }));
        },
      );
  }
}
