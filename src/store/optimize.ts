/**
 * The optimizer: settings → plan → jobs in the worker pool → per-weight results. Each change cancels work in
 * flight that no longer matters and submits only what the cache does not hold; results stream in.
 * Candidate configurations (palettization 1..8 bits, int8, the presets) are computed behind the current one
 * (lower pool priority), for the trade-off chart and the size budget.
 */
import { create } from 'zustand';
import { describeError } from '../core/errors';
import type { CompressionPlan, WeightResult } from '../core/compress/types';
import type { LoadedModel } from '../core/model/types';
import { checkPlanTarget, modelTarget } from '../core/plan/target';
import { isAbort } from '../../workers/pool';
import { cachedResult, planWork, runCurve, runJob, type WorkItem } from './engine';
import { useModel } from './model';
import { isFusedModel, workingModel } from './fusion';
import { frameBatcher } from './batch';
import { relativeError, solveBudget, type BudgetLayer } from './budget';
import { predictBytes, type Predicted } from './predict';
import {
  applyPreset,
  buildPlan,
  DEFAULT_SETTINGS,
  needsIOS18,
  PRESETS,
  presetOverride,
  type Override,
  type Settings,
} from './settings';

export interface Candidate {
  id: string;
  label: string;
  settings: Settings;
}

export interface CandidateTotals {
  id: string;
  label: string;
  bytes: number;
  error: number;
  snrDb: number;
  done: boolean;
}

export type BudgetMode = 'MB' | '%' | 'bpw';

export interface Recipe {
  /** weight id → option id (keep, pal1..pal8, q8) */
  choice: Record<string, string>;
  bytes: number;
  error: number;
  budgetBytes: number;
}

export interface OptimizeState {
  enabled: boolean;
  settings: Settings;
  byType: Record<string, Override>;
  byName: Record<string, Override>;
  plan: CompressionPlan | null;
  /**
   * the model the optimizer works on (plan, results, totals, table rows, download): the loaded one, or for a
   * NeuralNetwork model quantized below 16 bits the one with conv + batchnorm/scale/bias fused (fusion.ts)
   */
  work: LoadedModel | null;
  /** why `work` differs from the loaded model ("93 layers were fused …"); null when it does not */
  fusionNote: string | null;
  /** weights of `work` whose values the fusion changed (their statistics are not the loaded model's) */
  fusedChanged: ReadonlySet<string> | null;
  /** true while the fused model is being made */
  fusing: boolean;
  /** a plan imported from a coremltools dict: used as is until a control changes */
  importedPlan: CompressionPlan | null;
  importNote: string | null;
  planError: string | null;
  results: Record<string, WeightResult>;
  /** sizes of the current plan's jobs known before their results (predict.ts): totals show at once */
  predicted: Record<string, Predicted>;
  errors: Record<string, string>;
  done: number;
  total: number;
  candidates: Record<string, Record<string, WeightResult>>;
  budgetMode: BudgetMode;
  budgetValue: number;
  recipe: Recipe | null;
  recipeError: string | null;
  setEnabled(on: boolean): void;
  setSettings(p: Partial<Settings>): void;
  usePreset(id: string): void;
  setOverride(name: string, o: Override | null): void;
  setTypeOverride(type: string, o: Override | null): void;
  setBudget(mode: BudgetMode, value: number): void;
  computeRecipe(): void;
  applyRecipe(): void;
  importPlan(plan: CompressionPlan, exact: boolean, s: Settings, byType: Record<string, Override>, byName: Record<string, Override>): void;
}

let currentAbort: AbortController | null = null;
/**
 * The current plan's jobs in flight (or done) by job key, for the model they run on: a candidate whose job is the
 * same (e.g. the budget's 8-bit palettization while the 8-bit preset runs) takes that result instead of computing
 * it a second time.
 */
let currentJobs: { model: LoadedModel | null; byKey: Map<string, Promise<WeightResult>> } = { model: null, byKey: new Map() };
let candAbort: AbortController | null = null;
/** what the candidates in flight depend on (model generation, target, weight threshold); null when none run */
let candSig: string | null = null;
/** the model the candidates in the store belong to */
let candModel: LoadedModel | null = null;
const candidateSig = (generation: number, s: Settings, fused: boolean) => `${generation}${fused ? 'f' : ''}|${s.target}|${s.weightThreshold}`;
/** increases on every recompute: a fusion that finishes after a newer recompute does not resume the old one */
let recomputeToken = 0;

function stopCandidates(): void {
  candAbort?.abort();
  candSig = null;
}

export const useOptimize = create<OptimizeState>((set, get) => ({
  enabled: false,
  settings: DEFAULT_SETTINGS,
  byType: {},
  byName: {},
  plan: null,
  work: null,
  fusionNote: null,
  fusedChanged: null,
  fusing: false,
  importedPlan: null,
  importNote: null,
  planError: null,
  results: {},
  predicted: {},
  errors: {},
  done: 0,
  total: 0,
  candidates: {},
  budgetMode: '%',
  budgetValue: 30,
  recipe: null,
  recipeError: null,
  setEnabled(on) {
    set({ enabled: on });
    recompute();
  },
  setSettings(p) {
    set((s) => ({ settings: withModelTarget({ ...s.settings, ...p }), enabled: true, importedPlan: null, importNote: null }));
    recompute();
  },
  usePreset(id) {
    const p = PRESETS.find((x) => x.id === id);
    if (!p) return;
    // a preset's target applies where the model lets the target change (ONNX, NeuralNetwork); an ML program keeps
    // its own, and a preset that needs iOS18 on an iOS16/17 program is refused as coremltools refuses it
    set((s) => ({ settings: withModelTarget(applyPreset(s.settings, p)), enabled: true, importedPlan: null, importNote: null }));
    recompute();
  },
  setOverride(name, o) {
    set((s) => {
      const byName = { ...s.byName };
      if (o) byName[name] = o;
      else delete byName[name];
      return { byName, enabled: true, importedPlan: null, importNote: null };
    });
    recompute();
  },
  setTypeOverride(type, o) {
    set((s) => {
      const byType = { ...s.byType };
      if (o) byType[type] = o;
      else delete byType[type];
      return { byType, enabled: true, importedPlan: null, importNote: null };
    });
    recompute();
  },
  setBudget(mode, value) {
    set({ budgetMode: mode, budgetValue: value, recipe: null, recipeError: null });
  },
  computeRecipe() {
    const model = get().work ?? useModel.getState().model;
    if (!model) return;
    const r = recipeFor(model, get());
    set(typeof r === 'string' ? { recipe: null, recipeError: r } : { recipe: r, recipeError: null });
  },
  applyRecipe() {
    const { recipe } = get();
    const model = get().work ?? useModel.getState().model;
    if (!recipe || !model) return;
    const byName: Record<string, Override> = {};
    for (const w of model.weights) {
      const c = recipe.choice[w.id];
      if (!c) continue;
      const o = optionOverride(c);
      if (o) byName[w.name] = o;
    }
    // the recipe decides every layer: global palettization is the fallback for layers without a choice
    set((s) => ({ byName, byType: {}, settings: { ...s.settings, method: 'palettize', palGranularity: 'per_tensor' }, enabled: true, importedPlan: null, importNote: null }));
    recompute();
  },
  importPlan(plan, exact, settings, byType, byName) {
    set({
      settings,
      byType,
      byName,
      enabled: true,
      importedPlan: plan,
      importNote: exact ? null : 'The imported configuration has options the controls do not show; it is applied exactly as imported until you change a control.',
    });
    recompute();
  },
}));

/** Settings with the target an ML program fixes (plan/target.ts); other models keep the chosen one. */
function withModelTarget(s: Settings): Settings {
  const model = useModel.getState().model;
  if (!model) return s;
  const mt = modelTarget(model.summary);
  return mt.fixed && s.target !== mt.target ? { ...s, target: mt.target } : s;
}

/** Why a preset cannot run on the loaded model (its deployment target is fixed below what the preset needs). */
export function presetRefusal(model: LoadedModel, presetId: string, current: Settings): string | undefined {
  const p = PRESETS.find((x) => x.id === presetId);
  const mt = modelTarget(model.summary);
  if (!p || !mt.fixed || mt.target === 'iOS18') return undefined;
  const why = needsIOS18({ ...applyPreset(current, p), target: mt.target });
  return why ? `${why}. ${mt.reason}` : undefined;
}

/** The budget's options per layer and how they map to overrides. */
export const BUDGET_BITS_IOS16 = [1, 2, 4, 6, 8];
export const BUDGET_BITS_IOS18 = [1, 2, 3, 4, 6, 8];

export function candidateList(s: Settings): Candidate[] {
  const bits = s.target === 'iOS18' ? BUDGET_BITS_IOS18 : BUDGET_BITS_IOS16;
  const base = { ...DEFAULT_SETTINGS, weightThreshold: s.weightThreshold, target: s.target };
  const out: Candidate[] = bits.map((b) => ({
    id: `pal${b}`,
    label: `${b}-bit palettization`,
    settings: { ...base, method: 'palettize', nbits: b, palMode: 'kmeans', palGranularity: 'per_tensor' } as Settings,
  }));
  out.push({ id: 'q8', label: 'int8 per-channel', settings: { ...base, method: 'quantize', qDtype: 'int8', qMode: 'linear_symmetric', qGranularity: 'per_channel' } });
  for (const p of PRESETS) {
    if (out.some((c) => c.id === p.id || c.label === p.label)) continue;
    const st = applyPreset(base, p);
    if (st.target === 'iOS18' && s.target !== 'iOS18') continue;
    out.push({ id: p.id, label: p.label, settings: { ...st, weightThreshold: s.weightThreshold } });
  }
  return out;
}

/** The per-layer options of the size budget: palettization 1..8 bits per tensor, int8, and on iOS18 the grouped 4-bit LUT. */
export function isBudgetOption(c: Candidate): boolean {
  return /^pal\d$/.test(c.id) || c.id === 'q8' || (c.id === 'pal4g16' && c.settings.target === 'iOS18');
}

function optionOverride(optionId: string): Override | null {
  if (optionId === 'keep') return { kind: 'skip' };
  if (optionId === 'q8' || optionId === 'pal4g16') return presetOverride(optionId) ?? null;
  const m = /^pal(\d)$/.exec(optionId);
  if (m) return { kind: 'settings', label: `${m[1]}-bit palettization (budget)`, settings: { method: 'palettize', nbits: Number(m[1]), palMode: 'kmeans', palGranularity: 'per_tensor' } };
  return null;
}

export function budgetBytes(model: LoadedModel, mode: BudgetMode, value: number): number {
  const total = model.summary.totalWeightBytes;
  if (mode === 'MB') return Math.floor(value * 1024 * 1024);
  if (mode === '%') return Math.floor((total * value) / 100);
  return Math.floor((model.summary.totalParams * value) / 8);
}

function recipeFor(model: LoadedModel, st: OptimizeState): Recipe | string {
  const budget = budgetBytes(model, st.budgetMode, st.budgetValue);
  const cands = candidateList(st.settings).filter(isBudgetOption);
  const layers: BudgetLayer[] = [];
  for (const w of model.weights) {
    const options = [{ id: 'keep', bytes: w.bytes, error: 0 }];
    for (const c of cands) {
      const r = st.candidates[c.id]?.[w.id];
      if (!r) return `Still computing the per-layer curves (${c.label}); try again in a moment`;
      if (r.status === 'compressed') options.push({ id: c.id, bytes: r.bytesAfter, error: relativeError(w.count, r.snrDb) });
    }
    layers.push({ id: w.id, options });
  }
  const pick = solveBudget(layers, budget);
  if (!pick) {
    const min = layers.reduce((a, l) => a + Math.min(...l.options.map((o) => o.bytes)), 0);
    return `The budget (${budget.toLocaleString('en-US')} B) is below the smallest reachable size (${min.toLocaleString('en-US')} B)`;
  }
  return { choice: Object.fromEntries(pick.choice), bytes: pick.bytes, error: pick.error, budgetBytes: budget };
}

type Landed = { id: string; result?: WeightResult; error?: string };
const landCurrent = frameBatcher<Landed>((items) =>
  useOptimize.setState((s) => {
    const results = { ...s.results };
    const errors = { ...s.errors };
    for (const it of items) {
      if (it.result) results[it.id] = it.result;
      else errors[it.id] = it.error ?? 'failed';
    }
    return { results, errors, done: s.done + items.length };
  }),
);
const landCandidate = frameBatcher<{ cand: string; id: string; result: WeightResult }>((items) =>
  useOptimize.setState((s) => {
    const candidates = { ...s.candidates };
    for (const it of items) candidates[it.cand] = { ...candidates[it.cand], [it.id]: it.result };
    return { candidates };
  }),
  250,
);

/** Recomputes after any change: cancels stale work, runs the current plan, then the candidates. */
export function recompute(): void {
  const token = ++recomputeToken;
  const loaded = useModel.getState().model;
  const tree = useModel.getState().tree;
  const st = useOptimize.getState();
  currentAbort?.abort();
  // candidates do not depend on the current settings beyond the target, the threshold and the fusion:
  // background work that is still valid keeps going (at low priority, behind the current plan's jobs) instead
  // of being thrown away; computeCandidates replaces it when what it depends on changed
  if (!loaded || !st.enabled) {
    stopCandidates();
    useOptimize.setState({ plan: null, work: null, fusionNote: null, fusedChanged: null, fusing: false, planError: null, results: {}, predicted: {}, errors: {}, done: 0, total: 0 });
    return;
  }
  const generation = useModel.getState().generation;
  const mt = modelTarget(loaded.summary);
  const reason = !st.importedPlan && st.settings.target !== 'iOS18' ? needsIOS18(st.settings) : undefined;
  const plan = st.importedPlan ?? buildPlan(st.settings, st.byType, st.byName);
  // an ML program's target is fixed: a plan at another target is refused as coremltools refuses it
  const targetError = checkPlanTarget(loaded.summary, plan);
  if (targetError || reason) {
    const planError = targetError ?? (mt.fixed ? `${reason}. ${mt.reason}` : `${reason}: set the deployment target to iOS18`);
    useOptimize.setState({ plan, work: loaded, fusionNote: null, fusedChanged: null, fusing: false, planError, results: {}, predicted: {}, errors: {}, done: 0, total: 0 });
    // the budget and the trade-off chart do not depend on the refused plan
    computeCandidates(loaded, generation);
    return;
  }
  // a NeuralNetwork model quantized below 16 bits works on its fused copy (made once per model, then cached)
  const w = workingModel(loaded, tree, plan);
  if (w instanceof Promise) {
    useOptimize.setState({ plan, fusing: true, planError: null, results: {}, predicted: {}, errors: {}, done: 0, total: 0 });
    void w.then(() => {
      if (token === recomputeToken && useModel.getState().generation === generation) recompute();
    });
    return;
  }
  if (!w.ok) {
    useOptimize.setState({ plan, work: loaded, fusionNote: null, fusedChanged: null, fusing: false, planError: w.error, results: {}, predicted: {}, errors: {}, done: 0, total: 0 });
    computeCandidates(loaded, generation);
    return;
  }
  const model = w.value.model;
  useOptimize.setState({ work: model, fusionNote: w.value.note, fusedChanged: w.value.changed, fusing: false });
  let work;
  try {
    work = planWork(model, plan);
  } catch (e) {
    useOptimize.setState({ plan, planError: describeError(e), results: {}, predicted: {}, errors: {}, done: 0, total: 0 });
    computeCandidates(model, generation);
    return;
  }
  const ctl = new AbortController();
  currentAbort = ctl;
  const valid = () => !ctl.signal.aborted && useModel.getState().generation === generation;
  const results: Record<string, WeightResult> = {};
  for (const r of work.skipped) results[r.id] = r;
  // totals first: the sizes known from shapes and configs show before any kernel runs
  const predicted: Record<string, Predicted> = {};
  for (const j of work.jobs) {
    const p = predictBytes(j.job);
    if (p) predicted[j.id] = p;
  }
  // results already in the cache show at once; the rest stream in
  useOptimize.setState({ plan, planError: null, results, predicted, errors: {}, done: work.skipped.length, total: work.skipped.length + work.jobs.length });
  currentJobs = { model, byKey: new Map() };
  for (const j of work.jobs) {
    const p = runJob(model, j, true, ctl.signal, 1);
    currentJobs.byKey.set(j.key, p);
    p.then(
      (r) => landCurrent({ id: j.id, result: r }, valid),
      (e) => {
        if (!isAbort(e)) landCurrent({ id: j.id, error: describeError(e) }, valid);
      },
    );
  }
  // the candidates are queued behind the current plan's jobs (lower priority): they only take a worker that the
  // current plan leaves idle, e.g. while its last big weight finishes on another
  computeCandidates(model, generation);
}

function computeCandidates(model: LoadedModel, generation: number): void {
  const st = useOptimize.getState();
  const sig = candidateSig(generation, st.settings, isFusedModel(model));
  if (candSig === sig && candAbort && !candAbort.signal.aborted) return; // the same work is still running
  candAbort?.abort();
  // the candidates of the other model (fused vs. as loaded) do not answer for this one
  if (candModel !== model) useOptimize.setState({ candidates: {}, recipe: null, recipeError: null });
  candModel = model;
  const ctl = new AbortController();
  candAbort = ctl;
  candSig = sig;
  const valid = () => !ctl.signal.aborted && useModel.getState().generation === generation;
  const pending: Promise<unknown>[] = [];
  const cands = candidateList(st.settings);
  // the size budget's options first, one worker job per weight for all of them (one read, one histogram);
  // then the other candidates (presets for the trade-off chart), one job per (weight, candidate)
  const budget = cands.filter(isBudgetOption);
  const perWeight = new Map<string, { cand: string; item: WorkItem }[]>();
  const later: { cand: string; item: WorkItem }[] = [];
  const shared: { cand: string; item: WorkItem; result: Promise<WeightResult> }[] = [];
  for (const c of cands) {
    let work;
    try {
      work = planWork(model, buildPlan(c.settings, {}, {}));
    } catch {
      continue;
    }
    const have = useOptimize.getState().candidates[c.id] ?? {};
    const init: Record<string, WeightResult> = { ...have };
    for (const r of work.skipped) init[r.id] = r;
    const inBudget = budget.includes(c);
    for (const item of work.jobs) {
      if (have[item.id]) continue;
      // e.g. the current plan's results: the same job, already computed
      const hit = cachedResult(model, item);
      if (hit) {
        // numbers only: the representation stays with the cache, which may evict it
        const { repr: _repr, ...numbers } = hit;
        init[item.id] = numbers;
      }
      else if (currentJobs.model === model && currentJobs.byKey.has(item.key)) shared.push({ cand: c.id, item, result: currentJobs.byKey.get(item.key)! });
      else if (!inBudget) later.push({ cand: c.id, item });
      else perWeight.set(item.id, [...(perWeight.get(item.id) ?? []), { cand: c.id, item }]);
    }
    useOptimize.setState((s) => ({ candidates: { ...s.candidates, [c.id]: init } }));
  }
  for (const list of perWeight.values()) {
    const p = runCurve(model, list.map((x) => x.item), ctl.signal).then(
      (rs) => rs.forEach((r, i) => landCandidate({ cand: list[i].cand, id: list[i].item.id, result: r }, valid)),
      () => undefined,
    );
    pending.push(p);
  }
  // the same job as one of the current plan's: its result (numbers only); computed here only if that job is
  // cancelled (the settings changed before it finished) or failed
  for (const { cand, item, result } of shared) {
    const p = result.then(
      (r) => {
        const { repr: _repr, ...numbers } = r;
        landCandidate({ cand, id: item.id, result: numbers }, valid);
      },
      () => {
        if (ctl.signal.aborted) return;
        return runJob(model, item, false, ctl.signal, -1).then(
          (r) => landCandidate({ cand, id: item.id, result: r }, valid),
          () => undefined,
        );
      },
    );
    pending.push(p);
  }
  // below the budget's curves (-1): with worker affinity a worker would otherwise take its own weights' preset
  // candidates before another weight's curve, and the recipe waits for every curve
  for (const { cand, item } of later) {
    const p = runJob(model, item, false, ctl.signal, -2).then(
      (r) => landCandidate({ cand, id: item.id, result: r }, valid),
      () => undefined,
    );
    pending.push(p);
  }
  void Promise.all(pending).then(() => {
    if (candAbort === ctl) candSig = null;
  });
}

export interface Totals {
  /** bytes after: each weight's result, else its predicted size, else its size as stored */
  bytes: number;
  error: number;
  snrDb: number;
  /** every weight has its result */
  done: boolean;
  /** weights without a result whose size is predicted exactly */
  exactPending: number;
  /** weights without a result whose size is an estimate (pruning) or not known yet (counted as stored) */
  estimated: number;
  unknown: number;
  /** weights with a result */
  landed: number;
}

/**
 * Totals of a set of results over the whole model. Weights without a result count with their predicted size (exact
 * for palettization and quantization, an estimate for pruning) or, without a prediction, as unchanged.
 */
export function totalsOf(model: LoadedModel, results: Record<string, WeightResult>, predicted: Record<string, Predicted> = {}): Totals {
  let bytes = 0;
  let err = 0;
  let count = 0;
  let exactPending = 0;
  let estimated = 0;
  let unknown = 0;
  let landed = 0;
  for (const w of model.weights) {
    const r = results[w.id];
    count += w.count;
    if (r) {
      landed++;
      bytes += r.status === 'compressed' ? r.bytesAfter : w.bytes;
      if (r.status === 'compressed') err += relativeError(w.count, r.snrDb);
      continue;
    }
    const p = predicted[w.id];
    if (p) {
      bytes += p.bytes;
      if (p.exact) exactPending++;
      else estimated++;
    } else {
      bytes += w.bytes;
      unknown++;
    }
  }
  const rel = count ? err / count : 0;
  return { bytes, error: err, snrDb: rel > 0 ? -10 * Math.log10(rel) : Infinity, done: landed === model.weights.length, exactPending, estimated, unknown, landed };
}

/** Reset when a new model loads. */
useModel.subscribe((s, prev) => {
  if (s.generation !== prev.generation) {
    currentAbort?.abort();
    stopCandidates();
    // a new model starts from its inventory: the settings stay (the target becomes the model's), compression
    // waits for a preset or a control
    const target = s.model ? modelTarget(s.model.summary).target : useOptimize.getState().settings.target;
    candModel = null;
    useOptimize.setState({ settings: { ...useOptimize.getState().settings, target }, work: null, fusionNote: null, fusedChanged: null, fusing: false, enabled: false, importedPlan: null, importNote: null, byName: {}, byType: {}, results: {}, errors: {}, candidates: {}, recipe: null, recipeError: null, done: 0, total: 0 });
    recompute();
  }
});

/** The model the optimizer's views show: the one it works on, else the loaded one. */
export function useWorkModel(): LoadedModel | null {
  const work = useOptimize((s) => s.work);
  const loaded = useModel((s) => s.model);
  return work ?? loaded;
}
