import { describe, expect, it } from 'vitest';
import { progressBar } from './progress';
import { formatBytes, formatNum, table } from './format';

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 60, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream };
}

describe('progress bar', () => {
  it('draws on a terminal and clears its line at the end', () => {
    const { out, stream } = fakeStream(true);
    const bar = progressBar(true, stream);
    bar.update(0, 4);
    bar.update(4, 4);
    bar.done();
    expect(out[0]).toMatch(/^\r  0% \[\.+\] 0\/4/);
    expect(out[1]).toMatch(/^\r100% \[#+\] 4\/4/);
    expect(out[out.length - 1]).toMatch(/^\r +\r$/);
    expect(out.every((s) => s.replace(/\r/g, '').length <= 59)).toBe(true);
  });
  it('writes nothing when stderr is not a terminal or when disabled', () => {
    for (const [tty, on] of [[false, true], [true, false]] as const) {
      const { out, stream } = fakeStream(tty);
      const bar = progressBar(on, stream);
      bar.update(1, 2);
      bar.done();
      expect(out).toEqual([]);
    }
  });
});

describe('formatting', () => {
  it('sizes, numbers and tables', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(99.9e6)).toBe('95.3 MB');
    expect(formatNum(0.000123)).toBe('1.230e-4');
    expect(formatNum(Infinity)).toBe('inf');
    expect(table(['a', 'n'], [['x', '1'], ['long', '22']], new Set(['n'])).split('\n')).toEqual(['a      n', '----  --', 'x      1', 'long  22']);
  });
});
