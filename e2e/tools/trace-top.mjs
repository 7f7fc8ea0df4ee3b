#!/usr/bin/env node
/**
 * What the page's main thread does in its long tasks: reads a Chromium trace (SHRINKRAY_TRACE=1 npx playwright test
 * e2e/perf.spec.ts writes test-results/perf-trace.json) and prints, for each top-level task over the threshold on the
 * renderer's main thread, its duration and the events inside it by self time (script by function and URL, GC, style,
 * layout, paint, …). Usage: node e2e/tools/trace-top.mjs [trace.json] [minMs=50]
 */
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/perf-trace.json';
const minMs = Number(process.argv[3] ?? 50);
const raw = JSON.parse(readFileSync(file, 'utf8'));
const events = Array.isArray(raw) ? raw : raw.traceEvents;
const mainTids = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
const byThread = new Map();
for (const e of events) {
  const k = `${e.pid}:${e.tid}`;
  if (!mainTids.has(k) || e.ph !== 'X' || typeof e.dur !== 'number') continue;
  if (!byThread.has(k)) byThread.set(k, []);
  byThread.get(k).push(e);
}
const label = (e) => {
  const d = e.args?.data ?? {};
  if (e.name === 'FunctionCall' || e.name === 'EvaluateScript') return `${e.name} ${d.functionName ?? ''} ${(d.url ?? '').split('/').pop()}:${d.lineNumber ?? ''}`;
  if (e.name === 'TimerFire' || e.name === 'FireAnimationFrame' || e.name === 'EventDispatch') return `${e.name} ${d.type ?? ''}`;
  return e.name;
};
for (const [k, list] of byThread) {
  list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const tops = list.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
  let n = 0;
  for (const t of tops) {
    if (t.dur / 1000 < minMs) continue;
    n++;
    const inside = list.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur);
    // self time: duration minus direct children (by nesting on time)
    const self = new Map();
    const stack = [];
    for (const e of inside) {
      while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
      if (stack.length) stack[stack.length - 1].self -= e.dur;
      const rec = { ts: e.ts, dur: e.dur, self: e.dur, label: label(e) };
      stack.push(rec);
      e._rec = rec;
    }
    for (const e of inside) self.set(e._rec.label, (self.get(e._rec.label) ?? 0) + e._rec.self);
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8);
    console.log(`${k} task ${(t.dur / 1000).toFixed(1)} ms wall, ${((t.tdur ?? 0) / 1000).toFixed(1)} ms thread CPU, at ${(t.ts / 1000).toFixed(0)}`);
    for (const [l, us] of top) console.log(`   ${(us / 1000).toFixed(1).padStart(7)} ms  ${l}`);
  }
  if (n) console.log(`${k}: ${n} tasks over ${minMs} ms wall; ${tops.filter((t) => (t.tdur ?? 0) / 1000 >= minMs).length} over ${minMs} ms of thread CPU`);
}

// --- sampled CPU profile (category disabled-by-default-v8.cpu_profiler): functions inside the long tasks ------------
const profiles = new Map(); // id -> { pid, tid, start, nodes: Map, parent: Map, samples: [{ts, id}] }
for (const e of events) {
  if (e.name === 'Profile') profiles.set(`${e.pid}:${e.id}`, { key: `${e.pid}:${e.tid}`, t: e.args.data.startTime, nodes: new Map(), samples: [] });
}
for (const e of events) {
  if (e.name !== 'ProfileChunk') continue;
  const p = profiles.get(`${e.pid}:${e.id}`);
  if (!p) continue;
  const cp = e.args.data.cpuProfile ?? {};
  for (const n of cp.nodes ?? []) p.nodes.set(n.id, n);
  const deltas = e.args.data.timeDeltas ?? [];
  (cp.samples ?? []).forEach((id, i) => {
    p.t += deltas[i] ?? 0;
    p.samples.push({ ts: p.t, id });
  });
}
const fname = (n) => `${n.callFrame.functionName || '(anon)'} ${(n.callFrame.url || '').split('/').pop()}:${n.callFrame.lineNumber + 1}:${n.callFrame.columnNumber + 1}`;
for (const p of profiles.values()) {
  if (!mainTids.has(p.key) || p.samples.length === 0) continue;
  const tasks = (byThread.get(p.key) ?? []).filter((e) => e.name === 'RunTask' && e.dur / 1000 >= minMs);
  const self = new Map();
  const incl = new Map();
  let n = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const s = p.samples[i];
    const dt = (p.samples[i + 1]?.ts ?? s.ts) - s.ts;
    if (!tasks.some((t) => s.ts >= t.ts && s.ts < t.ts + t.dur)) continue;
    n += dt;
    let node = p.nodes.get(s.id);
    if (!node) continue;
    self.set(fname(node), (self.get(fname(node)) ?? 0) + dt);
    const seen = new Set();
    while (node) {
      const f = fname(node);
      if (!seen.has(f)) incl.set(f, (incl.get(f) ?? 0) + dt);
      seen.add(f);
      node = node.parent ? p.nodes.get(node.parent) : [...p.nodes.values()].find((x) => x.children?.includes(node.id));
    }
  }
  console.log(`\nCPU samples inside long tasks: ${(n / 1000).toFixed(0)} ms`);
  console.log('by self time:');
  for (const [f, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`   ${(us / 1000).toFixed(1).padStart(7)} ms  ${f}`);
  console.log('by inclusive time:');
  for (const [f, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`   ${(us / 1000).toFixed(1).padStart(7)} ms  ${f}`);
}

// per long task: the components (capitalised function names) and the biggest non-React frames inside it
if (process.env.PER_TASK) {
  for (const p of profiles.values()) {
    if (!mainTids.has(p.key)) continue;
    const tasks = (byThread.get(p.key) ?? []).filter((e) => e.name === 'RunTask' && e.dur / 1000 >= minMs);
    const parentOf = new Map();
    for (const n of p.nodes.values()) for (const c of n.children ?? []) parentOf.set(c, n.id);
    for (const t of tasks) {
      const incl = new Map();
      for (let i = 0; i < p.samples.length; i++) {
        const s = p.samples[i];
        if (s.ts < t.ts || s.ts >= t.ts + t.dur) continue;
        const dt = (p.samples[i + 1]?.ts ?? s.ts) - s.ts;
        let id = s.id;
        const seen = new Set();
        while (id !== undefined) {
          const node = p.nodes.get(id);
          if (!node) break;
          const f = node.callFrame.functionName || '(anon)';
          if (!seen.has(f)) incl.set(f, (incl.get(f) ?? 0) + dt);
          seen.add(f);
          id = node.parent ?? parentOf.get(id);
        }
      }
      const comps = [...incl].filter(([f]) => /^[A-Z]/.test(f) || /^\(program\)|garbage/.test(f)).sort((a, b) => b[1] - a[1]).slice(0, 10);
      console.log(`task ${(t.dur / 1000).toFixed(0)} ms: ${comps.map(([f, us]) => `${f} ${(us / 1000).toFixed(0)}`).join(', ')}`);
    }
  }
}
