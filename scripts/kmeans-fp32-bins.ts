/**
 * Reproduces the fp32 k-means weakness in kmeansOptimal (src/core/compress/palettize/kmeans1d.ts): for more
 * than 65,536 distinct values it runs the DP on 65,536 equal-COUNT bins, so the few outliers of a heavy-tailed
 * weight share a bin with bulk values and Lloyd cannot separate them again. Compares, per weight, the SSE of
 * kmeansOptimal, of the exact DP on all distinct values, and of a candidate fix (bins closed by count OR by
 * value width, so no bin spans more than 1/32768 of the range).
 * Run: npx tsx scripts/kmeans-fp32-bins.ts [file.onnx] [weight names...]
 */
import { fileWithSiblings } from '../src/node/fs-tree';
import { kmeans1d, kmeansOptimal, lloydSorted, sseNearest } from '../src/core/compress/palettize/kmeans1d';
import { loadTree } from '../src/core/formats/onnx/testkit';

function widthCountBins(xs: Float64Array, ws: Float64Array, M: number): { bx: Float64Array; bw: Float64Array } {
  const n = xs.length;
  const maxCount = Math.ceil(n / M);
  const maxWidth = (xs[n - 1] - xs[0]) / M;
  const bx: number[] = [], bw: number[] = [];
  let a = 0;
  while (a < n) {
    let e = a + 1;
    while (e < n && e - a < maxCount && xs[e] - xs[a] <= maxWidth) e++;
    let sw = 0, sx = 0;
    for (let i = a; i < e; i++) { sw += ws[i]; sx += ws[i] * xs[i]; }
    bx.push(sx / sw); bw.push(sw);
    a = e;
  }
  return { bx: Float64Array.from(bx), bw: Float64Array.from(bw) };
}

const file = process.argv[2] ?? 'PPOCRv4_rec_SVTR.onnx';
const m = await loadTree(fileWithSiblings(`/work/shared/fixtures/real/onnx/${file}`), file);
const all = process.argv[3] === 'all';
const names = all
  ? m.weights.filter((w) => w.dtype === 'fp32' && w.shape.length > 1 && w.count > 65536).map((w) => w.name)
  : process.argv.slice(3).length ? process.argv.slice(3) : ['conv2d_184.w_0', 'conv2d_180.w_0', 'conv2d_182.w_0', 'conv2d_178.w_0', 'linear_85.w_0'];
for (const name of names) {
  const w = m.weights.find((x) => x.name === name)!;
  const s = Float64Array.from(await m.readFloat32(w.id)).sort();
  const xs: number[] = [], ws: number[] = [];
  for (const x of s) { if (xs.length && xs[xs.length - 1] === x) ws[ws.length - 1]++; else { xs.push(x); ws.push(1); } }
  const X = Float64Array.from(xs), W = Float64Array.from(ws);
  let t = Date.now();
  const cur = kmeansOptimal(X, W, 256);
  const tCur = Date.now() - t;
  t = Date.now();
  const { bx, bw } = widthCountBins(X, W, 32768);
  const fix = lloydSorted(X, W, Array.from(kmeans1d(bx, bw, 256).centers));
  const tFix = Date.now() - t;
  if (X.length <= 65536) continue;
  t = Date.now();
  const ex = all ? null : kmeans1d(X, W, 256);
  const tEx = Date.now() - t;
  const sse = (c: Float64Array) => sseNearest(X, W, c);
  console.log(`${name} (${X.length} distinct): kmeansOptimal ${sse(cur.centers).toExponential(4)} (${tCur} ms) | width+count bins (${bx.length}) ${sse(fix.centers).toExponential(4)} (${tFix} ms) ${ex ? `| exact DP ${ex.cost.toExponential(4)} (${tEx} ms)` : ''} | ratio ${(sse(cur.centers) / sse(fix.centers)).toFixed(3)}`);
}
