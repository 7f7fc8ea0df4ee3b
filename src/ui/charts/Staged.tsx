/**
 * Mounts its chart a little after the others, in a transition of its own: turning the optimizer on mounts three
 * recharts charts, and each mount (its store, its axes, its effects) is one task of tens of ms on a busy machine.
 * One after another they are separate short tasks instead of one long one. Until then a box of the same height.
 */
import { startTransition, useEffect, useState, type ReactNode } from 'react';

export function Staged({ order, height, label, children }: { order: number; height: number; label: string; children: ReactNode }) {
  const [ready, setReady] = useState(order === 0);
  useEffect(() => {
    if (ready) return;
    const t = setTimeout(() => startTransition(() => setReady(true)), 120 * order);
    return () => clearTimeout(t);
  }, [ready, order]);
  if (ready) return <>{children}</>;
  return <figure className="panel chart" aria-label={label} aria-busy="true" style={{ minHeight: height }} />;
}
