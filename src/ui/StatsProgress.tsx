import { useModel } from '../store/model';

export function StatsProgress() {
  const done = useModel((s) => s.statsDone);
  const total = useModel((s) => s.statsTotal);
  if (total === 0) return null;
  const finished = done >= total;
  return (
    <div className="progress-row" data-testid="stats-progress" data-done={done} data-total={total}>
      <label htmlFor="stats-progress">{finished ? 'Statistics ready' : 'Computing statistics…'}</label>
      <progress id="stats-progress" max={total} value={done} />
      <span>
        {done}/{total}
      </span>
    </div>
  );
}
