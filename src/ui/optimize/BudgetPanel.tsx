/** The size budget: a target in MB, % of the original weights or bits per weight; the recipe as a table; apply in one click. */
import { useDeferredValue, useId } from 'react';
import { budgetBytes, candidateList, isBudgetOption, useOptimize, type BudgetMode, useWorkModel } from '../../store/optimize';
import { fmtBytes, fmtExact } from '../format';

export function BudgetPanel() {
  const model = useWorkModel();
  const enabled = useOptimize((s) => s.enabled);
  const settings = useOptimize((s) => s.settings);
  const candidates = useDeferredValue(useOptimize((s) => s.candidates));
  const budgetMode = useOptimize((s) => s.budgetMode);
  const budgetValue = useOptimize((s) => s.budgetValue);
  const recipe = useOptimize((s) => s.recipe);
  const recipeError = useOptimize((s) => s.recipeError);
  const setBudget = useOptimize((s) => s.setBudget);
  const computeRecipe = useOptimize((s) => s.computeRecipe);
  const applyRecipe = useOptimize((s) => s.applyRecipe);
  const st = { enabled, settings, candidates, budgetMode, budgetValue, recipe, recipeError, setBudget, computeRecipe, applyRecipe };
  const id = useId();
  if (!model || !st.enabled) return null;
  const budget = budgetBytes(model, st.budgetMode, st.budgetValue);
  const cands = candidateList(st.settings).filter(isBudgetOption);
  const ready = cands.every((c) => model.weights.every((w) => st.candidates[c.id]?.[w.id]));
  const counts = new Map<string, number>();
  if (st.recipe) for (const v of Object.values(st.recipe.choice)) counts.set(v, (counts.get(v) ?? 0) + 1);
  return (
    <section className="panel budget" aria-label="Size budget" data-testid="budget">
      <h2>Size budget</h2>
      <div className="budget-row">
        <label htmlFor={id}>Target</label>
        <input
          id={id}
          type="number"
          min={0}
          step="any"
          value={st.budgetValue}
          onChange={(e) => st.setBudget(st.budgetMode, Number(e.target.value))}
          data-testid="budget-value"
        />
        <select aria-label="Budget unit" value={st.budgetMode} onChange={(e) => st.setBudget(e.target.value as BudgetMode, st.budgetValue)} data-testid="budget-mode">
          <option value="%">% of original</option>
          <option value="MB">MB</option>
          <option value="bpw">bits per weight</option>
        </select>
        <button type="button" onClick={st.computeRecipe} disabled={!ready} data-testid="budget-compute">
          {ready ? 'Find recipe' : 'Computing curves…'}
        </button>
      </div>
      <p className="hint">
        Weights budget: {fmtBytes(budget)} ({fmtExact(budget)} B). Per layer: keep, palettize with{' '}
        {cands
          .filter((c) => /^pal\d$/.test(c.id))
          .map((c) => c.id.slice(3))
          .join('/')}{' '}
        bits, int8{cands.some((c) => c.id === 'pal4g16') ? ', or a grouped 4-bit LUT' : ''}; least size-weighted error.
      </p>
      {st.recipeError && (
        <p className="error-inline" data-testid="budget-error">
          {st.recipeError}
        </p>
      )}
      {st.recipe && (
        <div data-testid="recipe" data-bytes={st.recipe.bytes} data-budget={st.recipe.budgetBytes}>
          <table className="recipe">
            <thead>
              <tr>
                <th scope="col">Choice</th>
                <th scope="col">Layers</th>
              </tr>
            </thead>
            <tbody>
              {[...counts].map(([k, n]) => (
                <tr key={k}>
                  <td>{choiceLabel(k)}</td>
                  <td>{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details className="recipe-layers">
            <summary>Per layer</summary>
            <table className="recipe" data-testid="recipe-layers">
              <thead>
                <tr>
                  <th scope="col">Weight</th>
                  <th scope="col">Choice</th>
                  <th scope="col">Bytes</th>
                </tr>
              </thead>
              <tbody>
                {model.weights.map((w) => {
                  const c = st.recipe!.choice[w.id];
                  const r = c && c !== 'keep' ? st.candidates[c]?.[w.id] : undefined;
                  return (
                    <tr key={w.id}>
                      <td>{w.name}</td>
                      <td>{choiceLabel(c ?? 'keep')}</td>
                      <td className="num">{fmtExact(r?.status === 'compressed' ? r.bytesAfter : w.bytes)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </details>
          <p>
            Recipe: {fmtBytes(st.recipe.bytes)} ({fmtExact(st.recipe.bytes)} B) of {fmtExact(st.recipe.budgetBytes)} B budget
          </p>
          <button type="button" className="primary" onClick={st.applyRecipe} data-testid="budget-apply">
            Apply recipe
          </button>
        </div>
      )}
    </section>
  );
}

function choiceLabel(k: string): string {
  if (k === 'keep') return 'keep as is';
  if (k === 'q8') return 'int8 per-channel';
  if (k === 'pal4g16') return '4-bit LUT, group 16';
  return `${k.slice(3)}-bit LUT`;
}
