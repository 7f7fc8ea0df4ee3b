/** Issue 2 in the browser: every way in (pickers, folder, zip, drop, sample), the inventory's numbers, and bad input. */
import { expect, test } from '@playwright/test';
import { readdirSync, statSync } from 'node:fs';
import { dropFiles, fixture, golden, pickFiles, pickFolder, shot, summaryNumber, tableRowCount, waitLoaded, watchRequests } from './helpers';

test.describe('loading models', () => {
  let foreign: string[];
  test.beforeEach(async ({ page }) => {
    foreign = watchRequests(page);
    await page.goto('/');
  });
  test.afterEach(() => {
    expect(foreign, 'requests to other origins').toEqual([]);
  });

  test('the sample button loads the bundled sample with its golden totals', async ({ page }) => {
    await shot(page, '00-empty');
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await waitLoaded(page, 'SampleNet.mlpackage');
    const g = golden('base_ios16');
    expect(await tableRowCount(page)).toBe(g.weight_count);
    await expect(page.getByTestId('summary-weight-count')).toHaveText(String(g.weight_count));
    expect(await summaryNumber(page, 'summary-file-bytes')).toBe(g.bytes_on_disk);
    const params = g.weights.reduce((a: number, w: { values: { count: number } }) => a + w.values.count, 0);
    await expect(page.getByTestId('summary-params')).toContainText(params.toLocaleString('en-US'));
    await expect(page.getByTestId('summary-spec')).toContainText('7');
    await expect(page.getByTestId('histogram')).toBeVisible();
    await expect(page.getByTestId('weight-stats')).toContainText('unique');
    await shot(page, '01-sample-loaded');
  });

  test('an .mlpackage folder through the folder picker', async ({ page }) => {
    const dir = fixture('synthetic/base_ios18.mlpackage');
    await pickFolder(page, dir);
    await waitLoaded(page, 'base_ios18.mlpackage');
    const g = golden('base_ios18');
    expect(await tableRowCount(page)).toBe(g.weight_count);
    expect(await summaryNumber(page, 'summary-file-bytes')).toBe(g.bytes_on_disk);
    await expect(page.getByTestId('summary-spec')).toContainText(String(g.specification_version));
    // statistics match the golden inspection for the selected (largest) weight
    const largest = [...g.weights].sort((a, b) => b.values.count - a.values.count)[0];
    await page.locator(`[data-testid=weights-table] tbody tr`, { hasText: largest.name }).first().click();
    await expect(page.getByTestId('weight-stats')).toContainText(`unique ${largest.values.unique_count}`);
    await shot(page, '02-folder-ios18');
  });

  test('an .mlpackage zip through the file picker (real fp32 model)', async ({ page }) => {
    await pickFiles(page, [fixture('real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage.zip')]);
    await waitLoaded(page, /DTLN_AEC_128_Part1_fp32/);
    const g = golden('DTLN_AEC_128_Part1_fp32');
    expect(await tableRowCount(page)).toBe(g.weight_count);
    await expect(page.getByTestId('summary-weight-count')).toHaveText(String(g.weight_count));
    const params = g.weights.reduce((a: number, w: { values: { count: number } }) => a + w.values.count, 0);
    await expect(page.getByTestId('summary-params')).toContainText(params.toLocaleString('en-US'));
    await shot(page, '03-zip-dtln');
  });

  test('an .mlmodel dropped on the window', async ({ page }) => {
    await dropFiles(page, [fixture('synthetic/base_nn.mlmodel')]);
    await waitLoaded(page, 'base_nn.mlmodel');
    const g = golden('base_nn');
    expect(await tableRowCount(page)).toBe(g.weight_count);
    expect(await summaryNumber(page, 'summary-file-bytes')).toBe(g.bytes_on_disk);
    await expect(page.getByTestId('summary-spec')).toContainText(String(g.specification_version));
    await shot(page, '04-drop-mlmodel');
  });

  test('a real .mlmodel (MNIST) through the file picker', async ({ page }) => {
    await pickFiles(page, [fixture('real/coreml/MNIST_CNN.mlmodel')]);
    await waitLoaded(page, 'MNIST_CNN.mlmodel');
    const g = golden('MNIST_CNN');
    expect(await tableRowCount(page)).toBe(g.weight_count);
    expect(await summaryNumber(page, 'summary-file-bytes')).toBe(g.bytes_on_disk);
  });

  test('an .onnx dropped on the window, and the table sorts and filters', async ({ page }) => {
    const file = fixture('real/onnx/SqueezeNet1.0_fp16.onnx');
    await dropFiles(page, [file]);
    await waitLoaded(page, 'SqueezeNet1.0_fp16.onnx');
    expect(await summaryNumber(page, 'summary-file-bytes')).toBe(statSync(file).size);
    const n = await tableRowCount(page);
    expect(n).toBeGreaterThan(40); // 26 conv layers: weight + bias each
    await expect(page.getByTestId('summary-weight-count')).toHaveText(String(n));
    await expect(page.getByTestId('summary-onnx')).toContainText('opset');
    // sum of the table's bytes equals the summary's weight bytes
    const bytes = await page.locator('[data-testid=weights-table] tbody td[data-bytes]').evaluateAll((tds) => tds.reduce((a, td) => a + Number(td.getAttribute('data-bytes')), 0));
    expect(bytes).toBe(await summaryNumber(page, 'summary-weight-bytes'));
    // sort by bytes, descending: first row has the most bytes
    await page.getByRole('button', { name: /^Bytes/ }).click();
    const first = Number(await page.locator('[data-testid=weights-table] tbody tr').first().locator('td[data-bytes]').getAttribute('data-bytes'));
    const all = await page.locator('[data-testid=weights-table] tbody td[data-bytes]').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-bytes'))));
    expect(first).toBe(Math.max(...all));
    const biggest = (await page.locator('[data-testid=weights-table] tbody tr').first().getAttribute('data-id'))!;
    const biggestName = (await page.locator('[data-testid=weights-table] tbody tr').first().locator('td.name').innerText()).trim();
    await page.getByTestId('weights-filter').fill(biggestName);
    await expect(page.locator(`[data-testid=weights-table] tbody tr[data-id="${biggest}"]`)).toHaveCount(1);
    const filtered = await tableRowCount(page);
    expect(filtered).toBeGreaterThan(0);
    expect(filtered).toBeLessThan(n);
    await expect(page.getByTestId('weights-shown')).toHaveText(`${filtered} of ${n} shown`);
    await shot(page, '05-drop-onnx');
  });

  test('a non-neural model loads and says it has nothing to compress', async ({ page }) => {
    await pickFiles(page, [fixture('real/coreml/ProgrammingLanguageClassifier_textClassifier.mlmodel')]);
    // either a loaded model with a note or a clear error: both must say what it is
    await expect(page.getByTestId('summary-note').or(page.getByTestId('error'))).toContainText(/textClassifier|no compressible weights|nothing to compress/i);
    await shot(page, '06-text-classifier');
  });
});

test.describe('bad input', () => {
  const cases: { name: string; pick: 'file' | 'folder'; expect: RegExp }[] = [
    { name: 'empty.mlmodel', pick: 'file', expect: /empty\.mlmodel.*(empty|0 bytes)/i },
    { name: 'garbage.mlmodel', pick: 'file', expect: /garbage\.mlmodel.*(protobuf|not a Core ML)/i },
    { name: 'random.mlmodel', pick: 'file', expect: /random\.mlmodel.*(protobuf|not a Core ML)/i },
    { name: 'badmanifest.mlpackage', pick: 'folder', expect: /Manifest\.json.*(JSON|invalid)/i },
    { name: 'nomanifest.mlpackage', pick: 'folder', expect: /Manifest\.json missing/i },
    { name: 'noweights.mlpackage', pick: 'folder', expect: /weight\.bin.*not found|missing/i },
    { name: 'truncweights.mlpackage', pick: 'folder', expect: /weight\.bin.*(truncated|past end)/i },
    { name: 'corrupthdr.mlpackage', pick: 'folder', expect: /weight\.bin.*(sentinel|blob header)/i },
  ];

  test('fixtures/bad holds exactly the cases tested here', () => {
    const names = readdirSync(fixture('bad')).filter((n) => n !== 'README.md').sort();
    expect(names).toEqual(cases.map((c) => c.name).sort());
  });

  test('each bad file shows its error, keeps the loaded model, and the app keeps working', async ({ page }) => {
    const foreign = watchRequests(page);
    await page.goto('/');
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await waitLoaded(page, 'SampleNet.mlpackage');
    for (const c of cases) {
      const path = fixture('bad', c.name);
      if (c.pick === 'file') await pickFiles(page, [path]);
      else await pickFolder(page, path);
      await expect(page.getByTestId('error-message'), c.name).toHaveText(c.expect);
      // the model loaded before stays, whole
      await expect(page.getByTestId('summary').locator('h2')).toHaveText('SampleNet.mlpackage');
      expect(await tableRowCount(page)).toBe(10);
      await shot(page, `07-bad-${c.name}`);
    }
    // and a good file still loads after all that
    await pickFiles(page, [fixture('synthetic/base_nn.mlmodel')]);
    await waitLoaded(page, 'base_nn.mlmodel');
    await expect(page.getByTestId('error')).toHaveCount(0);
    expect(foreign).toEqual([]);
  });

  test('a bad file on an empty page shows its error and the sample still loads', async ({ page }) => {
    await page.goto('/');
    await dropFiles(page, [fixture('bad/garbage.mlmodel')]);
    await expect(page.getByTestId('error-message')).toContainText('garbage.mlmodel');
    await shot(page, '08-bad-on-empty');
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await waitLoaded(page, 'SampleNet.mlpackage');
  });
});
