/** Collects updates and applies them at most once per animation frame (or per `delayMs`) (the table re-renders once, not per result). */
export function frameBatcher<T>(apply: (items: T[]) => void, delayMs = 0): (item: T, stillValid: () => boolean) => void {
  let queue: { item: T; valid: () => boolean }[] = [];
  let scheduled = false;
  const run = () => {
    scheduled = false;
    const batch = queue.filter((q) => q.valid()).map((q) => q.item);
    queue = [];
    if (batch.length) apply(batch);
  };
  return (item, valid) => {
    queue.push({ item, valid });
    if (scheduled) return;
    scheduled = true;
    if (delayMs > 0) setTimeout(run, delayMs);
    else if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
    else setTimeout(run, 16);
  };
}
