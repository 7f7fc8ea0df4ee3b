/**
 * A NeuralNetwork model quantized below 16 bits is fused first (conv + batchnorm), as coremltools' quantize_weights
 * does: PoseEstimation_CPM.mlmodel has 93 convolution + batchnorm pairs (517 weights: 145 conv weights + 4 × 93
 * batchnorm vectors). The optimizer works on the fused model (238 weights: 145 conv weights + 93 conv biases);
 * the download has no batchnorm and the fused biases.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fixture, pickFiles, REPO, shot, waitLoaded, watchRequests } from './helpers';

const DOWNLOADS = resolve(REPO, 'test-results/downloads');
mkdirSync(DOWNLOADS, { recursive: true });
const POSE = 'PoseEstimation_CPM.mlmodel';

async function applyPreset(page: Page, label: string) {
  await page.getByRole('button', { name: label, exact: true }).click();
  await expect(page.getByRole('button', { name: label, exact: true })).toHaveAttribute('aria-pressed', 'true');
}

async function totals(page: Page): Promise<{ before: number; after: number }> {
  const t = page.getByTestId('totals');
  await expect(t).toHaveAttribute('data-done', 'yes', { timeout: 120_000 });
  return { before: Number(await t.getAttribute('data-before')), after: Number(await t.getAttribute('data-after')) };
}

const rows = (page: Page, text: string) => page.locator('[data-testid=weights-table] tbody tr', { hasText: text });

test('PoseEstimation_CPM: int8 fuses the 93 batchnorms into the convs, pruning goes back to the loaded model, the download has the fused biases', async ({ page }) => {
  test.setTimeout(240_000);
  const foreign = watchRequests(page);
  await page.goto('/');
  await pickFiles(page, [fixture('real/coreml', POSE)]);
  await waitLoaded(page, POSE);
  await expect(page.getByTestId('summary-weight-count')).toHaveText('517');
  await expect(rows(page, 'batchnorm.gamma')).toHaveCount(93);
  await expect(page.getByTestId('fusion-note')).toHaveCount(0);

  await applyPreset(page, 'int8 per-channel');
  const note = page.getByTestId('fusion-note');
  await expect(note).toBeVisible({ timeout: 60_000 });
  await expect(note).toContainText("93 layers were fused into the layer before them before quantizing, as coremltools' quantize_weights does (93 convolution+batchnorm)");
  const t = await totals(page);
  expect(t.after).toBeLessThan(t.before);
  // the optimizer's table is the fused model's; the summary stays the model as loaded
  await expect(page.getByTestId('weights-shown')).toHaveText('238 of 238 shown');
  await expect(rows(page, 'batchnorm.')).toHaveCount(0);
  await expect(rows(page, 'convolution.bias')).toHaveCount(93);
  await expect(page.getByTestId('summary-weight-count')).toHaveText('517');
  await shot(page, '70-pose-fused-int8');

  // pruning does not quantize: the model as loaded, no note; back to int8: fused again at once
  await applyPreset(page, '50% sparsity');
  await expect(note).toHaveCount(0);
  await expect(page.getByTestId('weights-shown')).toHaveText('517 of 517 shown');
  await applyPreset(page, 'int8 per-channel');
  await expect(note).toBeVisible();
  await expect(page.getByTestId('weights-shown')).toHaveText('238 of 238 shown');
  const t2 = await totals(page);
  expect(t2).toEqual(t);

  await page.getByTestId('prepare').click();
  const prepared = page.getByTestId('prepared');
  await expect(prepared.or(page.getByTestId('download-error'))).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('download-error')).toHaveCount(0);
  const dl = page.waitForEvent('download');
  await page.getByTestId('save').click();
  const d = await dl;
  const file = resolve(DOWNLOADS, d.suggestedFilename());
  await d.saveAs(file);

  await pickFiles(page, [file]);
  await waitLoaded(page, d.suggestedFilename());
  await expect(page.getByTestId('summary-weight-count')).toHaveText('238');
  await expect(rows(page, 'batchnorm.')).toHaveCount(0);
  await expect(rows(page, 'convolution.bias')).toHaveCount(93);
  await expect(rows(page, 'convolution.weights')).toHaveCount(145);
  // what the optimizer showed before writing is what the written model holds
  expect(Number(await page.getByTestId('summary-weight-bytes').getAttribute('data-bytes'))).toBe(t.after);
  await shot(page, '71-pose-fused-reloaded');
  expect(foreign).toEqual([]);
});
