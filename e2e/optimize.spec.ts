/** Issue 5 (and the download of issue 4) in the browser: presets, overrides, budget, config round trip, download and reload. */
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fixture, golden, pickFiles, pickFolder, REPO, shot, waitLoaded, watchRequests } from './helpers';

const configs = JSON.parse(readFileSync(fixture('golden/configs.json'), 'utf8')).configs;
const DOWNLOADS = resolve(REPO, 'test-results/downloads');
mkdirSync(DOWNLOADS, { recursive: true });

interface GW {
  name: string;
  shape: number[];
  values: { count: number };
}

async function totals(page: Page): Promise<{ before: number; after: number }> {
  const t = page.getByTestId('totals');
  await expect(t).toHaveAttribute('data-done', 'yes', { timeout: 60_000 });
  return { before: Number(await t.getAttribute('data-before')), after: Number(await t.getAttribute('data-after')) };
}

async function applyPreset(page: Page, label: string) {
  await page.getByRole('button', { name: label, exact: true }).click();
  await expect(page.getByRole('button', { name: label, exact: true })).toHaveAttribute('aria-pressed', 'true');
}

function statusCounts(text: string): { compressed: number; skipped: number } {
  const m = /(\d+) compressed · (\d+) skipped/.exec(text);
  if (!m) throw new Error(`no status counts in "${text}"`);
  return { compressed: Number(m[1]), skipped: Number(m[2]) };
}

/** bytes of a weight palettized per tensor with n bits: packed indices + an fp16 LUT of 2^n entries */
const palBytes = (count: number, nbits: number) => Math.ceil((count * nbits) / 8) + 2 ** nbits * 2;

test.describe('optimizer', () => {
  let foreign: string[];
  test.beforeEach(async ({ page }) => {
    foreign = watchRequests(page);
    await page.goto('/');
  });
  test.afterEach(() => {
    expect(foreign, 'requests to other origins').toEqual([]);
  });

  test('presets on the iOS16 sample: exact totals, statuses, charts', async ({ page }) => {
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await waitLoaded(page, 'SampleNet.mlpackage');
    const g = golden('base_ios16');
    const big = (w: GW) => w.values.count > 2048 && w.shape.length >= 2;
    const before = g.weights.reduce((a: number, w: GW) => a + w.values.count * 2, 0);
    const skippedBytes = g.weights.filter((w: GW) => !big(w)).reduce((a: number, w: GW) => a + w.values.count * 2, 0);

    const seen: Record<string, number> = {};
    for (const [label, nbits, cfg] of [
      ['8-bit palettization', 8, 'pal-kmeans-8-tensor'],
      ['6-bit palettization', 6, 'pal-kmeans-6-tensor'],
    ] as const) {
      await applyPreset(page, label);
      const t = await totals(page);
      expect(t.before).toBe(before);
      const expected = skippedBytes + g.weights.filter(big).reduce((a: number, w: GW) => a + palBytes(w.values.count, nbits), 0);
      expect(t.after, label).toBe(expected);
      seen[label] = t.after;
      const counts = statusCounts(await page.getByTestId('total-status').innerText());
      const goldenCompressed = configs[cfg].applied_to.base_ios16?.compressed_weights?.length ?? g.weights.filter(big).length;
      expect(counts.compressed).toBe(goldenCompressed);
      expect(counts.skipped).toBe(g.weight_count - goldenCompressed);
      await shot(page, `10-preset-${label.replace(/\W+/g, '-')}`);
    }
    expect(seen['6-bit palettization']).toBeLessThan(seen['8-bit palettization']);

    // the small conv1 weight is skipped with its reason, shown in its row
    const row = page.locator('[data-testid=weights-table] tbody tr', { hasText: 'conv1_weight_to_fp16' });
    await expect(row.locator('td.extra-status')).toContainText(/skipped: 864 elements.*weight_threshold 2048/);

    await applyPreset(page, 'int8 per-channel');
    const q8 = await totals(page);
    // int8 codes: one byte per weight, plus per-channel scales
    const bigCount = g.weights.filter(big).reduce((a: number, w: GW) => a + w.values.count, 0);
    expect(q8.after).toBeGreaterThan(skippedBytes + bigCount);
    expect(q8.after).toBeLessThan(skippedBytes + bigCount + 4096);
    expect(statusCounts(await page.getByTestId('total-status').innerText()).compressed).toBe(configs['q-int8-sym-channel'].applied_to.base_ios16.compressed_weights.length);

    await applyPreset(page, '50% sparsity');
    const p50 = await totals(page);
    expect(p50.after).toBeLessThan(before);
    expect(statusCounts(await page.getByTestId('total-status').innerText()).compressed).toBe(configs['prune-mag-50'].applied_to.base_ios16.compressed_weights.length);
    // sparsity of the selected weight shows in the per-layer chart's data and the status label
    await expect(page.locator('[data-testid=weights-table] tbody tr', { hasText: 'linear2_weight_to_fp16' }).locator('td.extra-status')).toContainText('prune 50%');

    // charts: the trade-off chart fills with candidates, the per-layer chart has after-bars
    await expect(page.getByTestId('tradeoff')).toHaveAttribute('data-points', /^[5-9]|1\d$/, { timeout: 60_000 });
    await expect(page.getByTestId('layer-chart').locator('.recharts-bar-rectangle').first()).toBeVisible();
    for (const tab of ['Bits per weight', 'Palette size', 'Sparsity', 'SNR (dB)']) {
      await page.getByTestId('layer-chart').getByRole('tab', { name: tab }).click();
      await shot(page, `11-layer-chart-${tab.replace(/\W+/g, '-')}`);
    }
    await shot(page, '12-prune50');
  });

  test('iOS18 presets on the iOS18 model; the target gates options with a visible reason', async ({ page }) => {
    await pickFolder(page, fixture('synthetic/base_ios18.mlpackage'));
    await waitLoaded(page, 'base_ios18.mlpackage');
    const g = golden('base_ios18');
    for (const [label, cfg] of [
      ['4-bit grouped LUT, group 16 (iOS18)', 'pal-kmeans-4-group16'],
      ['int4 per-block 32 (iOS18)', 'q-int4-sym-block32'],
      ['50% sparsity + 4-bit LUT (iOS18)', 'joint-prune50-pal4'],
    ] as const) {
      await applyPreset(page, label);
      const t = await totals(page);
      expect(t.after).toBeLessThan(t.before / 2);
      expect(statusCounts(await page.getByTestId('total-status').innerText()).compressed, label).toBe(configs[cfg].applied_to.base_ios18.compressed_weights.length);
      await expect(page.getByTestId('target')).toHaveValue('iOS18');
      await shot(page, `13-ios18-${cfg}`);
    }
    // selected weight: the histogram shows the LUT centroids of the first group
    await page.locator('[data-testid=weights-table] tbody tr', { hasText: 'linear2_weight_to_fp16' }).locator('td.name button').click();
    await expect(page.getByTestId('histogram-overlay')).toContainText('centroids');
    // the program's target is fixed (coremltools keeps it): the control is disabled and says why
    await expect(page.getByTestId('target')).toBeDisabled();
    await expect(page.getByTestId('target-reason')).toContainText('targets iOS18 (specificationVersion 9)');
    expect(g.weight_count).toBe(10);
  });

  test('an iOS16 ML program: the target is fixed with the reason, iOS18 presets are refused with the message', async ({ page }) => {
    const reason =
      "This ML program targets iOS16 (specificationVersion 7). coremltools cannot raise an existing program's deployment target: re-convert it with minimum_deployment_target=ct.target.iOS18 to use iOS18-only options.";
    await pickFolder(page, fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage'));
    await waitLoaded(page, 'DTLN_AEC_128_Part2_fp16.mlpackage');
    await applyPreset(page, '8-bit palettization');
    const target = page.getByTestId('target');
    await expect(target).toBeDisabled();
    await expect(target).toHaveValue('iOS16');
    await expect(page.getByTestId('target-reason')).toHaveText(reason);
    // iOS18 presets show as refused before a click, with the message
    for (const id of ['pal4g16', 'q4b32', 'prune50pal4']) {
      await expect(page.locator(`[data-preset=${id}]`)).toHaveAttribute('data-refused', 'yes');
      await expect(page.locator(`[data-preset=${id}]`)).toHaveAttribute('title', new RegExp(`needs iOS18\\. ${reason.replace(/[.()]/g, '\\$&')}$`));
    }
    await expect(page.locator('[data-preset=pal8]')).not.toHaveAttribute('data-refused', 'yes');
    await expect(page.getByTestId('presets-refused')).toContainText('Refused on this iOS16 ML program');
    await expect(page.getByTestId('presets-refused')).toContainText('4-bit grouped LUT, group 16 (iOS18)');
    // clicking one: refused as coremltools refuses it, nothing compressed, the target unchanged
    await page.getByRole('button', { name: '4-bit grouped LUT, group 16 (iOS18)', exact: true }).click();
    await expect(page.getByTestId('plan-error')).toHaveText(`per_grouped_channel palettization needs iOS18. ${reason}`);
    await expect(target).toHaveValue('iOS16');
    await expect(page.locator('option[value=per_grouped_channel]')).toBeDisabled();
    await expect(page.locator('option[value=per_grouped_channel]')).toContainText('needs iOS18');
    // the size budget's curves do not wait for a valid current plan
    await expect(page.getByTestId('budget-compute')).toBeEnabled({ timeout: 60_000 });
    await shot(page, '14-target-fixed-ios16');
  });

  test('override one layer, size budget, config export and re-import', async ({ page }) => {
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await waitLoaded(page, 'SampleNet.mlpackage');
    const g = golden('base_ios16');
    await applyPreset(page, '8-bit palettization');
    const t0 = await totals(page);
    // skip linear2: its bytes go back to dense fp16
    const lin2 = g.weights.find((w: GW) => w.name === 'linear2_weight_to_fp16') as GW;
    await page.getByLabel('Config for linear2_weight_to_fp16').selectOption('skip');
    const t1 = await totals(page);
    expect(t1.after - t0.after).toBe(lin2.values.count * 2 - palBytes(lin2.values.count, 8));
    await expect(page.locator('[data-testid=weights-table] tbody tr', { hasText: 'linear2_weight_to_fp16' }).locator('td.extra-status')).toContainText('skipped');
    await shot(page, '15-override-skip');
    // a different preset for one layer
    await page.getByLabel('Config for linear2_weight_to_fp16').selectOption('pal6');
    const t2 = await totals(page);
    expect(t2.after - t0.after).toBe(palBytes(lin2.values.count, 6) - palBytes(lin2.values.count, 8));

    // per op type: skip every conv weight; only the two linear weights stay compressed
    await page.getByText('Per op type (2)').click();
    await page.getByLabel('Override for op type conv').selectOption('skip');
    await totals(page);
    expect(statusCounts(await page.getByTestId('total-status').innerText()).compressed).toBe(2);
    await expect(page.locator('[data-testid=weights-table] tbody tr', { hasText: 'conv2_weight_to_fp16' }).locator('td.extra-status')).toContainText('skipped');
    await page.getByLabel('Override for op type conv').selectOption('global');
    expect((await totals(page)).after).toBe(t2.after);

    // export the configuration (JSON), then change everything, then import it back
    const json = await page.getByTestId('config-json').innerText();
    expect(JSON.parse(json).op_name_configs.linear2_weight_to_fp16.nbits).toBe(6);
    const dl = page.waitForEvent('download');
    await page.getByTestId('export-json').click();
    const file = resolve(DOWNLOADS, (await dl).suggestedFilename());
    await (await dl).saveAs(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(json));
    await page.getByTestId('config').getByRole('tab', { name: 'Python' }).click();
    await expect(page.getByTestId('config-python')).toContainText('cto.OpPalettizerConfig');
    await shot(page, '16-config-python');
    await applyPreset(page, 'int8 per-channel');
    expect((await totals(page)).after).not.toBe(t2.after);
    await page.getByTestId('config-file').setInputFiles(file);
    await expect(page.getByTestId('config-msg')).toContainText('Imported');
    expect((await totals(page)).after).toBe(t2.after);
    await page.getByTestId('config').getByRole('tab', { name: 'JSON' }).click();
    expect(JSON.parse(await page.getByTestId('config-json').innerText())).toEqual(JSON.parse(json));
    // YAML import through the text box gives the same plan
    await page.getByTestId('config').getByRole('tab', { name: 'YAML' }).click();
    const yaml = await page.getByTestId('config-yaml').innerText();
    await applyPreset(page, '50% sparsity');
    await page.getByTestId('config-text').fill(yaml);
    await page.getByTestId('config-import').click();
    expect((await totals(page)).after).toBe(t2.after);

    // size budget: 25% of the original weights
    await page.getByTestId('budget-value').fill('25');
    await page.getByTestId('budget-mode').selectOption('%');
    await expect(page.getByTestId('budget-compute')).toBeEnabled({ timeout: 60_000 });
    await page.getByTestId('budget-compute').click();
    const recipe = page.getByTestId('recipe');
    await expect(recipe).toBeVisible();
    const budget = Number(await recipe.getAttribute('data-budget'));
    expect(budget).toBe(Math.floor((t0.before * 25) / 100));
    const recipeBytes = Number(await recipe.getAttribute('data-bytes'));
    expect(recipeBytes).toBeLessThanOrEqual(budget);
    // the trade-off chart marks both the current configuration and the recipe (its legend is HTML)
    const tradeoff = page.getByTestId('tradeoff');
    await expect(tradeoff).toContainText('budget recipe');
    await expect(tradeoff).toContainText('current');
    await shot(page, '17-budget-recipe');
    await page.getByTestId('budget-apply').click();
    const t3 = await totals(page);
    expect(t3.after).toBeLessThanOrEqual(budget);
    expect(t3.after).toBe(recipeBytes);
    // bits per weight mode
    await page.getByTestId('budget-mode').selectOption('bpw');
    await page.getByTestId('budget-value').fill('3');
    await page.getByTestId('budget-compute').click();
    const bpwBudget = Number(await page.getByTestId('recipe').getAttribute('data-budget'));
    const params = g.weights.reduce((a: number, w: GW) => a + w.values.count, 0);
    expect(bpwBudget).toBe(Math.floor((params * 3) / 8));
    expect(Number(await page.getByTestId('recipe').getAttribute('data-bytes'))).toBeLessThanOrEqual(bpwBudget);
    await shot(page, '18-budget-applied');
  });
});

test.describe('download', () => {
  async function downloadAndReload(page: Page): Promise<string> {
    await page.getByTestId('prepare').click();
    const prepared = page.getByTestId('prepared');
    await expect(prepared).toBeVisible({ timeout: 60_000 });
    const before = Number(await prepared.getAttribute('data-before'));
    const after = Number(await prepared.getAttribute('data-after'));
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThan(before);
    await shot(page, `20-download-${(await prepared.getAttribute('data-name'))!.replace(/\W+/g, '-')}`);
    const dl = page.waitForEvent('download');
    await page.getByTestId('save').click();
    const d = await dl;
    const file = resolve(DOWNLOADS, d.suggestedFilename());
    await d.saveAs(file);
    await pickFiles(page, [file]);
    return d.suggestedFilename();
  }

  test('.mlpackage: 4-bit palettization, download as zip, load it back as palettized', async ({ page }) => {
    const foreign = watchRequests(page);
    await page.goto('/');
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await waitLoaded(page, 'SampleNet.mlpackage');
    await page.getByRole('button', { name: '6-bit palettization', exact: true }).click();
    await page.getByTestId('nbits').selectOption('4');
    await totals(page);
    const name = await downloadAndReload(page);
    expect(name).toBe('SampleNet.pal4.mlpackage.zip');
    await waitLoaded(page, /SampleNet\.pal4\.mlpackage/);
    await expect(page.getByTestId('summary-weight-count')).toHaveText('10');
    await expect(page.getByTestId('summary-precompressed')).toHaveText('4 weights');
    const rows = page.locator('[data-testid=weights-table] tbody tr', { hasText: 'palettized' });
    await expect(rows).toHaveCount(4);
    await expect(rows.first()).toContainText('4-bit');
    await shot(page, '21-reloaded-pal4');
    expect(foreign).toEqual([]);
  });

  test('.mlmodel (NeuralNetwork): int8, download, load back as quantized', async ({ page }) => {
    await page.goto('/');
    await pickFiles(page, [fixture('synthetic/base_nn.mlmodel')]);
    await waitLoaded(page, 'base_nn.mlmodel');
    await applyPreset(page, 'int8 per-channel');
    const t = await totals(page);
    expect(t.after).toBeLessThan(t.before);
    const name = await downloadAndReload(page);
    expect(name).toMatch(/^base_nn\..*\.mlmodel$/);
    await waitLoaded(page, name);
    await expect(page.getByTestId('summary-precompressed')).toBeVisible();
    await shot(page, '22-reloaded-nn');
  });

  test('.onnx: int8 per-channel, download, load back as quantized', async ({ page }) => {
    await page.goto('/');
    await page.getByRole('button', { name: 'Try an ONNX sample' }).click();
    await waitLoaded(page, 'CIFAR10.onnx');
    await applyPreset(page, 'int8 per-channel');
    const t = await totals(page);
    expect(t.after).toBeLessThan(t.before);
    const name = await downloadAndReload(page);
    expect(name).toMatch(/^CIFAR10\..*\.onnx$/);
    await waitLoaded(page, name);
    await expect(page.getByTestId('summary-precompressed')).toBeVisible();
    await shot(page, '23-reloaded-onnx');
  });
});

test('keyboard: every control of the optimizer has a label, and presets and settings work from the keyboard', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the sample model' }).click();
  await waitLoaded(page, 'SampleNet.mlpackage');
  const preset = page.getByRole('button', { name: '6-bit palettization', exact: true });
  await preset.focus();
  await page.keyboard.press('Enter');
  await expect(preset).toHaveAttribute('aria-pressed', 'true');
  const unlabelled = await page.locator('main select, main input, main textarea').evaluateAll((els) =>
    els
      .filter((el) => !(el as HTMLInputElement).hidden && (el as HTMLElement).offsetParent !== null)
      .filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  expect(unlabelled).toEqual([]);
  const t6 = (await totals(page)).after;
  // nbits by keyboard: 6 → 8
  await page.getByLabel('Bits (LUT size)').focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByLabel('Bits (LUT size)')).toHaveValue('8');
  expect((await totals(page)).after).toBeGreaterThan(t6);
  // the method select by keyboard
  await page.getByLabel('Method').focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByLabel('Method')).toHaveValue('quantize');
  await expect(page.getByTestId('total-status')).toContainText('4 compressed');
});

test('layout on a wide screen', async ({ page }) => {
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the sample model' }).click();
  await waitLoaded(page, 'SampleNet.mlpackage');
  await applyPreset(page, '8-bit palettization');
  await totals(page);
  await page.waitForTimeout(500);
  await page.screenshot({ path: resolve(REPO, 'test-results/screenshots/30-wide.png') });
  // nothing overflows the window sideways
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test.describe('every preset on every format', () => {
  const PRESET_LABELS = [
    '8-bit palettization',
    '6-bit palettization',
    'int8 per-channel',
    '4-bit grouped LUT, group 16 (iOS18)',
    'int4 per-block 32 (iOS18)',
    '50% sparsity',
    '50% sparsity + 4-bit LUT (iOS18)',
  ];
  for (const [fmt, open] of [
    ['mlpackage', (page: Page) => pickFolder(page, fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage'))],
    ['mlmodel', (page: Page) => pickFiles(page, [fixture('real/coreml/MNIST_CNN.mlmodel')])],
    ['onnx', (page: Page) => pickFiles(page, [fixture('real/onnx/SqueezeNet1.0_fp16.onnx')])],
  ] as const) {
    test(`${fmt}: each preset either compresses (smaller total, statuses for every weight) or is refused with a reason`, async ({ page }) => {
      const foreign = watchRequests(page);
      await page.goto('/');
      await open(page);
      await expect(page.getByTestId('stats-progress')).toBeVisible();
      const n = Number(await page.getByTestId('summary-weight-count').innerText());
      const outcomes: string[] = [];
      for (const label of PRESET_LABELS) {
        await page.getByRole('button', { name: label, exact: true }).click();
        const refused = page.getByTestId('plan-error');
        const done = page.locator('[data-testid=totals][data-done=yes]');
        await expect(refused.or(done)).toBeVisible({ timeout: 60_000 });
        if (await refused.isVisible()) {
          const msg = await refused.innerText();
          expect(msg.length).toBeGreaterThan(10);
          outcomes.push(`${label}: refused (${msg})`);
          continue;
        }
        const t = await totals(page);
        const c = statusCounts(await page.getByTestId('total-status').innerText());
        expect(c.compressed + c.skipped, label).toBe(n);
        // ONNX keeps a 50%-pruned fp16 weight dense: its COO sparse_initializer (int64 indices) would be bigger, and
        // sparse + LUT has no ONNX form (written dense), so the bytes stay what they were (the writer's own count);
        // everything else that compresses shrinks
        if (c.compressed > 0 && fmt === 'onnx' && label.startsWith('50% sparsity')) expect(t.after, label).toBe(t.before);
        else if (c.compressed > 0) expect(t.after, label).toBeLessThan(t.before);
        else expect(t.after, label).toBe(t.before);
        // every row shows a status: compressed with its label, or skipped with its reason
        const statuses = await page.locator('[data-testid=weights-table] tbody td.extra-status').allInnerTexts();
        expect(statuses.filter((s) => s.trim() === '' || s.trim() === '…'), label).toEqual([]);
        outcomes.push(`${label}: ${c.compressed} compressed, ${t.before} → ${t.after} B`);
      }
      console.log(`${fmt}\n  ${outcomes.join('\n  ')}`);
      expect(outcomes.some((o) => /[1-9]\d* compressed/.test(o))).toBe(true);
      await shot(page, `60-presets-${fmt}`);
      expect(foreign).toEqual([]);
    });
  }
});

test('.mlpackage saved straight into a folder where showDirectoryPicker exists (in-memory handles)', async ({ page }) => {
  await page.addInitScript(() => {
    const written: Record<string, number> = {};
    (window as unknown as { __written: Record<string, number> }).__written = written;
    const dir = (path: string): unknown => ({
      async getDirectoryHandle(name: string) {
        return dir(`${path}${name}/`);
      },
      async getFileHandle(name: string) {
        return {
          async createWritable() {
            let n = 0;
            return {
              async write(d: Uint8Array) {
                n += d.byteLength;
              },
              async close() {
                written[`${path}${name}`] = n;
              },
            };
          },
        };
      },
    });
    (window as unknown as { showDirectoryPicker: () => Promise<unknown> }).showDirectoryPicker = async () => dir('');
  });
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the sample model' }).click();
  await waitLoaded(page, 'SampleNet.mlpackage');
  await applyPreset(page, '8-bit palettization');
  await totals(page);
  await page.getByTestId('prepare').click();
  const prepared = page.getByTestId('prepared');
  await expect(prepared).toBeVisible();
  const after = Number(await prepared.getAttribute('data-after'));
  await page.getByRole('button', { name: 'Save into a folder…' }).click();
  await expect
    .poll(async () => Object.keys(await page.evaluate(() => (window as unknown as { __written: Record<string, number> }).__written)).length)
    .toBeGreaterThanOrEqual(3);
  const written = await page.evaluate(() => (window as unknown as { __written: Record<string, number> }).__written);
  expect(Object.keys(written).sort()).toEqual([
    'SampleNet.pal8.mlpackage/Data/com.apple.CoreML/model.mlmodel',
    'SampleNet.pal8.mlpackage/Data/com.apple.CoreML/weights/weight.bin',
    'SampleNet.pal8.mlpackage/Manifest.json',
  ]);
  expect(Object.values(written).reduce((a, b) => a + b, 0)).toBe(after);
});

test.describe('download and reload real models', () => {
  for (const [name, open, preset] of [
    ['DTLN_AEC_128_Part2_fp16.mlpackage', (page: Page) => pickFolder(page, fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage')), '6-bit palettization'],
    ['MNIST_CNN.mlmodel', (page: Page) => pickFiles(page, [fixture('real/coreml/MNIST_CNN.mlmodel')]), '8-bit palettization'],
    ['SqueezeNet1.0_fp16.onnx', (page: Page) => pickFiles(page, [fixture('real/onnx/SqueezeNet1.0_fp16.onnx')]), 'int8 per-channel'],
  ] as const) {
    test(`${name}: ${preset}, write, download, load back: the compressed weights read as compressed`, async ({ page }) => {
      await page.goto('/');
      await open(page);
      await waitLoaded(page, name);
      const n = Number(await page.getByTestId('summary-weight-count').innerText());
      await applyPreset(page, preset);
      const t = await totals(page);
      const compressed = statusCounts(await page.getByTestId('total-status').innerText()).compressed;
      expect(compressed).toBeGreaterThan(0);
      await page.getByTestId('prepare').click();
      const prepared = page.getByTestId('prepared');
      await expect(prepared.or(page.getByTestId('download-error'))).toBeVisible({ timeout: 60_000 });
      await expect(page.getByTestId('download-error')).toHaveCount(0);
      expect(Number(await prepared.getAttribute('data-after'))).toBeLessThan(Number(await prepared.getAttribute('data-before')));
      const dl = page.waitForEvent('download');
      await page.getByTestId('save').click();
      const d = await dl;
      const file = resolve(DOWNLOADS, d.suggestedFilename());
      await d.saveAs(file);
      await pickFiles(page, [file]);
      await expect(page.getByTestId('summary').locator('h2')).not.toHaveText(name);
      await expect(page.getByTestId('summary-weight-count')).toHaveText(String(n));
      await expect(page.getByTestId('summary-precompressed')).toHaveText(`${compressed} weights`);
      // the total the optimizer showed before writing is what the written model holds
      expect(Number(await page.getByTestId('summary-weight-bytes').getAttribute('data-bytes')), 'weight bytes of the reloaded model vs. the engine\'s bytesAfter').toBe(t.after);
      await expect(page.getByTestId('stats-progress')).toHaveAttribute('data-done', String(n), { timeout: 60_000 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      await shot(page, `61-reloaded-${name.replace(/\W+/g, '-')}`);
    });
  }
});
