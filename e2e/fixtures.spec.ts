/**
 * Every real and synthetic model of the shared fixtures loads in the page through the pickers, with the same
 * weight count and bytes as the core reports in Node for the same files (the page's File-backed reads agree
 * with the Node reads), and statistics finish for all of them.
 */
import { expect, test } from '@playwright/test';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/core/formats';
import { pathTree } from '../src/node/fs-tree';
import { fixture, pickFiles, pickFolder, summaryNumber, tableRowCount, waitLoaded, watchRequests } from './helpers';

const inputs: string[] = [];
for (const d of ['real/coreml', 'real/onnx', 'synthetic']) {
  for (const n of readdirSync(fixture(d)).sort()) inputs.push(join(d, n));
}

test('every fixture model loads in the page with the numbers the core gives in Node', async ({ page }) => {
  test.setTimeout(300_000);
  const foreign = watchRequests(page);
  await page.goto('/');
  for (const rel of inputs) {
    const path = fixture(rel);
    const isDir = statSync(path).isDirectory();
    const model = await loadModel(pathTree(path));
    if (isDir) await pickFolder(page, path);
    else await pickFiles(page, [path]);
    if (model.weights.length === 0) {
      // nothing to compress (the text classifier): the page says so
      await expect(page.getByTestId('summary').locator('h2')).toHaveText(model.summary.fileName);
      await expect(page.getByTestId('summary-note')).toHaveText(model.summary.note!);
      continue;
    }
    await waitLoaded(page, model.summary.fileName);
    await expect(page.getByTestId('error'), rel).toHaveCount(0);
    expect(await tableRowCount(page), rel).toBe(model.weights.length);
    expect(await summaryNumber(page, 'summary-weight-bytes'), rel).toBe(model.summary.totalWeightBytes);
    expect(await summaryNumber(page, 'summary-file-bytes'), rel).toBe(model.summary.fileBytes);
    await expect(page.getByTestId('stats-progress')).toHaveAttribute('data-done', String(model.weights.length));
    // long weight names never widen the page past the 1280 px window
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), rel).toBeLessThanOrEqual(0);
  }
  expect(foreign).toEqual([]);
});
