/** A one-line progress bar on stderr, drawn only when stderr is a terminal (never in pipes or logs). */

export interface Progress {
  update(done: number, total: number, label?: string): void;
  done(): void;
}

const NOOP: Progress = { update() {}, done() {} };

export function progressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return NOOP;
  let last = 0;
  let drawn = false;
  return {
    update(done, total, label = '') {
      const now = Date.now();
      if (now - last < 80 && done < total) return;
      last = now;
      const cols = Math.max(40, (stream.columns ?? 80) - 1);
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const head = `${String(Math.round(frac * 100)).padStart(3)}% `;
      const barW = Math.min(30, cols - head.length - 10);
      const fill = Math.round(frac * barW);
      const bar = `[${'#'.repeat(fill)}${'.'.repeat(barW - fill)}] ${done}/${total} `;
      const text = (head + bar + label).slice(0, cols);
      stream.write(`\r${text.padEnd(cols)}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write(`\r${' '.repeat(Math.max(40, (stream.columns ?? 80) - 1))}\r`);
      drawn = false;
    },
  };
}
