/**
 * Investigation of the output SNR of PPOCRv4_rec_SVTR.onnx under 8-bit weight compression (int8 per-channel,
 * 8-bit k-means palettization). Compares the engine's weights with reference quantizers written here
 * (per-channel symmetric int8 as coremltools and as onnxruntime's QuantizeLinear compute it; exact 1-D k-means
 * over all distinct fp32 values), on three input sets (the writer test's smooth images, white noise, and
 * rendered text lines), with several output measures (softmax SNR, logit SNR, per-step argmax agreement,
 * CTC-decoded sequence equality).
 * Run: npx tsx scripts/ppocr-snr.ts   (text lines: /tmp/textlines.json from scripts/render-textlines.mts, optional)
 */
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync } from 'node:fs';
import { fileWithSiblings } from '../src/node/fs-tree';
import type { WeightResult } from '../src/core/compress/types';
import { runPlan, weightAxes } from '../src/core/engine';
import { kmeans1d } from '../src/core/compress/palettize/kmeans1d';
import { outputBytes, type LoadedModel } from '../src/core/model/types';
import { globalPlan, linearQuantizerConfig, palettizerConfig } from '../src/core/plan';
import { loadTree, mulberry32, snrDb, asFloats } from '../src/core/formats/onnx/testkit';
import { onnxType, type ModelP } from '../src/core/formats/onnx/schema';
import { reprToFloat, writeOnnx } from '../src/core/formats/onnx/write';

const DIR = '/work/shared/fixtures/real/onnx';
const FILE = 'PPOCRv4_rec_SVTR.onnx';
const LOGITS = 'p2o.Add.277';
const INT8 = linearQuantizerConfig({ dtype: 'int8', granularity: 'per_channel' });
const PAL8 = palettizerConfig({ mode: 'kmeans', nbits: 8 });

/** The model with the pre-softmax logits as a second output. */
function withLogits(bytes: Uint8Array): Uint8Array {
  const T = onnxType('ModelProto');
  const m = T.decode(bytes) as unknown as ModelP;
  (m.graph!.output as unknown[]).push({ name: LOGITS, type: { tensor_type: { elem_type: 1 } } });
  return T.encode(m as never).finish();
}

type Feeds = { name: string; x: Float32Array; dims: number[] };
function feedSets(): Feeds[] {
  const H = 48, W = 320;
  const smooth = (seed: number, B: number) => {
    const rnd = mulberry32(seed);
    const a = new Float32Array(B * 3 * H * W);
    const waves = Array.from({ length: 9 }, () => [rnd() * 0.3, rnd() * 0.3, rnd() * 6.3, rnd() * 0.5]);
    for (let b = 0; b < B; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let v = 0;
      for (let k = 0; k < 3; k++) { const [fy, fx, ph, amp] = waves[c * 3 + k]; v += amp * Math.sin(fy * y + fx * x + ph + b); }
      a[((b * 3 + c) * H + y) * W + x] = Math.max(-1, Math.min(1, v));
    }
    return a;
  };
  const noise = (seed: number, n: number) => { const r = mulberry32(seed); return Float32Array.from({ length: n }, () => r() * 2 - 1); };
  const sets: Feeds[] = [
    { name: 'smooth (test, seed 7)', x: smooth(7, 1), dims: [1, 3, H, W] },
    { name: 'white noise (seed 7)', x: noise(7, 3 * H * W), dims: [1, 3, H, W] },
  ];
  if (existsSync('/tmp/textlines.json')) {
    const { data } = JSON.parse(readFileSync('/tmp/textlines.json', 'utf8')) as { data: number[][] };
    const B = data.length;
    const x = new Float32Array(B * 3 * H * W);
    // PaddleOCR rec preprocessing: RGB/255, (v - 0.5) / 0.5, CHW
    data.forEach((rgba, b) => { for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) x[(b * 3 + c) * H * W + i] = (rgba[i * 4 + c] / 255 - 0.5) / 0.5; });
    sets.push({ name: `text lines (${B} rendered)`, x, dims: [B, 3, H, W] });
  }
  return sets;
}

interface Out { prob: Float32Array; logit: Float32Array; dims: readonly number[] }
async function run(bytes: Uint8Array, f: Feeds): Promise<Out> {
  const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const o = await s.run({ x: new ort.Tensor('float32', f.x, f.dims) });
  return { prob: asFloats(o['softmax_11.tmp_0'].data, 'float32'), logit: asFloats(o[LOGITS].data, 'float32'), dims: o[LOGITS].dims };
}

function argmaxes(p: Float32Array, C: number): Int32Array {
  const T = p.length / C;
  const a = new Int32Array(T);
  for (let t = 0; t < T; t++) { let b = 0; for (let c = 1; c < C; c++) if (p[t * C + c] > p[t * C + b]) b = c; a[t] = b; }
  return a;
}
function ctcIds(a: Int32Array, start: number, len: number): number[] {
  const out: number[] = [];
  for (let t = start; t < start + len; t++) if (a[t] !== 0 && (t === start || a[t] !== a[t - 1])) out.push(a[t]);
  return out;
}
const ctc = (a: Int32Array, start: number, len: number) => ctcIds(a, start, len).join(',');
function editDistance(x: number[], y: number[]): number {
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}
function centered(l: Float32Array, C: number): Float32Array {
  const o = new Float32Array(l.length);
  for (let t = 0; t < l.length / C; t++) { let m = 0; for (let c = 0; c < C; c++) m += l[t * C + c]; m /= C; for (let c = 0; c < C; c++) o[t * C + c] = l[t * C + c] - m; }
  return o;
}
function measures(a: Out, b: Out): string {
  const [B, T, C] = a.dims as number[];
  const aa = argmaxes(a.prob, C), ab = argmaxes(b.prob, C);
  let agree = 0; for (let i = 0; i < aa.length; i++) if (aa[i] === ab[i]) agree++;
  let same = 0, ed = 0, len = 0;
  for (let k = 0; k < B; k++) {
    if (ctc(aa, k * T, T) === ctc(ab, k * T, T)) same++;
    const ra = ctcIds(aa, k * T, T);
    ed += editDistance(ra, ctcIds(ab, k * T, T));
    len += ra.length;
  }
  const cer = len ? ` | CER ${((100 * ed) / len).toFixed(2)}%` : '';
  return `prob ${snrDb(a.prob, b.prob).toFixed(1)} | logit ${snrDb(a.logit, b.logit).toFixed(1)} | centred logit ${snrDb(centered(a.logit, C), centered(b.logit, C)).toFixed(1)} | argmax ${((100 * agree) / aa.length).toFixed(1)}% | CTC ${same}/${B}${cer}`;
}

/** Dense result with the given values (written as plain initializers). */
function dense(m: LoadedModel, id: string, values: Float32Array): WeightResult {
  const w = m.weights.find((x) => x.id === id)!;
  return { id, status: 'compressed', repr: { kind: 'dense', dtype: 'fp32', shape: w.shape, values }, label: 'ref', bytesBefore: w.bytes, bytesAfter: w.bytes, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 32 };
}

/** Per-channel symmetric int8 along `axis`: scale = absmax / qmax (coremltools: 127; ORT QuantizeLinear tool: 2·absmax/255, clamp -128..127). */
function int8Ref(v: Float32Array, shape: number[], axis: number, ort: boolean): Float32Array {
  const C = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const ch = (i: number) => Math.floor(i / inner) % C;
  const am = new Float64Array(C);
  for (let i = 0; i < v.length; i++) am[ch(i)] = Math.max(am[ch(i)], Math.abs(v[i]));
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const s = Math.fround(ort ? (2 * am[ch(i)]) / 255 : am[ch(i)] / 127);
    if (s === 0) continue;
    const r = v[i] / s;
    let q = Math.round(r);
    if (Math.abs(r % 1) === 0.5) q = 2 * Math.round(r / 2); // half to even
    out[i] = Math.max(ort ? -128 : -127, Math.min(127, q)) * s;
  }
  return out;
}

/** Exact 8-bit k-means over all distinct values, nearest-centre assignment. */
function kmeansExact(v: Float32Array): Float32Array {
  const s = Float64Array.from(v).sort();
  const xs: number[] = [], ws: number[] = [];
  for (const x of s) { if (xs.length && xs[xs.length - 1] === x) ws[ws.length - 1]++; else { xs.push(x); ws.push(1); } }
  const c = Array.from(kmeans1d(Float64Array.from(xs), Float64Array.from(ws), 256).centers, Math.fround);
  return v.map((x) => { let lo = 0, hi = c.length - 1; while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (c[mid] <= x) lo = mid; else hi = mid; } return Math.abs(x - c[lo]) <= Math.abs(x - c[hi]) ? c[lo] : c[hi]; });
}

function noiseLike(orig: Float32Array, dec: Float32Array, seed: number): Float32Array {
  let mse = 0; for (let i = 0; i < orig.length; i++) mse += (orig[i] - dec[i]) ** 2;
  const amp = Math.sqrt((3 * mse) / orig.length);
  const r = mulberry32(seed);
  return orig.map((x) => x + (r() * 2 - 1) * amp);
}

async function main() {
  const origBytes = withLogits(readFileSync(`${DIR}/${FILE}`));
  const { memoryTree } = await import('../src/core/io/source');
  const m = await loadTree(memoryTree('m', { 'm.onnx': origBytes }), 'm.onnx');
  void fileWithSiblings;
  const write = async (r: Map<string, WeightResult>) => outputBytes((await writeOnnx(m, r, { plan: globalPlan(INT8), tag: 'x' })).files[0]);
  const sets = feedSets();
  const base = await Promise.all(sets.map((f) => run(origBytes, f)));
  const report = async (label: string, r: Map<string, WeightResult>) => {
    const bytes = await write(r);
    for (let k = 0; k < sets.length; k++) console.log(`${label.padEnd(34)} | ${sets[k].name.padEnd(22)} | ${measures(base[k], await run(bytes, sets[k]))}`);
  };
  const eng8 = await runPlan(m, globalPlan(INT8, 'iOS18'));
  if (process.argv[2] === 'perweight') {
    // output cost of each int8 weight alone, on every input set
    const rows: string[] = [];
    for (const [id, r] of eng8) {
      if (r.status !== 'compressed') continue;
      const bytes = await write(new Map([[id, r]]));
      const outs = await Promise.all(sets.map((f) => run(bytes, f)));
      rows.push(`${id} | weight ${r.snrDb.toFixed(1)} | ` + outs.map((o, k) => `${sets[k].name}: ${snrDb(base[k].prob, o.prob).toFixed(1)}`).join(' | '));
    }
    console.log(rows.join('\n'));
    return;
  }
  if (process.argv[2] === 'seeds') {
    // spread of the output SNR over equally strong but differently drawn weight errors
    const ids8 = [...eng8.values()].filter((r) => r.status === 'compressed').map((r) => r.id);
    for (let seed = 1; seed <= 6; seed++) {
      const r = new Map<string, WeightResult>();
      for (const id of ids8) { const v = await m.readFloat32(id); r.set(id, dense(m, id, noiseLike(v, reprToFloat(eng8.get(id)!.repr!), seed * 1000 + ids8.indexOf(id)))); }
      await report(`noise, int8 MSE, seed ${seed}`, r);
    }
    return;
  }
  const engP = await runPlan(m, globalPlan(PAL8, 'iOS18'));
  const ids = [...eng8.values()].filter((r) => r.status === 'compressed').map((r) => r.id);
  const orig = new Map<string, Float32Array>();
  for (const id of ids) orig.set(id, await m.readFloat32(id));
  const variants: Record<string, Map<string, WeightResult>> = {};
  const mk = (f: (id: string, v: Float32Array) => Float32Array) => new Map(ids.map((id) => [id, dense(m, id, f(id, orig.get(id)!))]));
  const axisOf = (id: string) => { const a = weightAxes(m.weights.find((w) => w.id === id)!); if ('reason' in a) throw new Error(a.reason); return a; };
  const wsnr: string[] = ['weight | shape | axis | engine int8 | ref int8 (ct) | ref int8 other axis | engine pal8 SSE | exact pal8 SSE | SNR engine→exact'];
  const exactP = new Map<string, Float32Array>();
  for (const id of ids) {
    const v = orig.get(id)!, w = m.weights.find((x) => x.id === id)!, ax = axisOf(id);
    const e8 = reprToFloat(eng8.get(id)!.repr!), r8 = int8Ref(v, w.shape, ax.outputAxis, false), o8 = int8Ref(v, w.shape, ax.inputAxis, false);
    const ep = reprToFloat(engP.get(id)!.repr!), xp = kmeansExact(v);
    exactP.set(id, xp);
    const sse = (d: Float32Array) => { let s = 0; for (let i = 0; i < v.length; i++) s += (v[i] - d[i]) ** 2; return s; };
    wsnr.push(`${w.name} | ${w.shape.join('x')} | ${ax.outputAxis} | ${snrDb(v, e8).toFixed(2)} | ${snrDb(v, r8).toFixed(2)} | ${snrDb(v, o8).toFixed(2)} | ${sse(ep).toExponential(3)} | ${sse(xp).toExponential(3)} | ${snrDb(v, ep).toFixed(1)} → ${snrDb(v, xp).toFixed(1)}`);
  }
  console.log(wsnr.join('\n'));
  variants['engine int8 per-channel'] = eng8;
  variants['ref int8 (coremltools, absmax/127)'] = mk((id, v) => int8Ref(v, m.weights.find((w) => w.id === id)!.shape, axisOf(id).outputAxis, false));
  variants['ref int8 (ORT, 2·absmax/255)'] = mk((id, v) => int8Ref(v, m.weights.find((w) => w.id === id)!.shape, axisOf(id).outputAxis, true));
  variants['noise, int8 MSE per weight'] = mk((id, v) => noiseLike(v, reprToFloat(eng8.get(id)!.repr!), ids.indexOf(id) + 1));
  variants['engine pal8 kmeans'] = engP;
  variants['exact pal8 kmeans (all distinct)'] = mk((id) => exactP.get(id)!);
  variants['noise, exact-pal8 MSE per weight'] = mk((id, v) => noiseLike(v, exactP.get(id)!, ids.indexOf(id) + 1));
  for (const [k, r] of Object.entries(variants)) await report(k, r);
  // the two worst int8 weights left in float
  const skip = (r: Map<string, WeightResult>, names: string[]) => new Map([...r].filter(([id]) => !names.some((n) => id.endsWith('/' + n))));
  await report('engine int8 minus conv2d_170', skip(eng8, ['conv2d_170.w_0']));
  await report('engine int8 minus conv2d_170/172/178/182', skip(eng8, ['conv2d_170.w_0', 'conv2d_172.w_0', 'conv2d_178.w_0', 'conv2d_182.w_0']));
}
main();
