/** ONNX with external data: the .onnx and its data file dropped together; the .onnx alone names the missing file. */
import { expect, test } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DT } from '../src/core/formats/onnx/dtypes';
import { modelBytes, node } from '../src/core/formats/onnx/testkit';
import { dropFiles, pickFiles, REPO, shot, tableRowCount, waitLoaded, watchRequests } from './helpers';

const dir = resolve(REPO, 'test-results/external');

function writeModel(): { onnx: string; data: string; values: Float32Array } {
  mkdirSync(dir, { recursive: true });
  const values = Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i) * 0.05);
  const kv = [
    { key: 'location', value: 'ext_weights.bin' },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(values.byteLength) },
  ];
  const bytes = modelBytes({
    name: 'g',
    node: [node('MatMul', ['x', 'W'], ['y'], [], 'mm')],
    initializer: [{ name: 'W', data_type: DT.FLOAT, dims: [64, 48], data_location: 1, external_data: kv }],
  });
  const onnx = resolve(dir, 'ext_model.onnx');
  const data = resolve(dir, 'ext_weights.bin');
  writeFileSync(onnx, bytes);
  writeFileSync(data, new Uint8Array(values.buffer));
  return { onnx, data, values };
}

test('an .onnx dropped with its external data file loads; alone, the error names the missing file', async ({ page }) => {
  const foreign = watchRequests(page);
  const { onnx, data, values } = writeModel();
  await page.goto('/');
  await dropFiles(page, [onnx]);
  await expect(page.getByTestId('error-message')).toContainText('ext_weights.bin');
  await expect(page.getByTestId('error-message')).toContainText(/not found/);
  await shot(page, '50-external-missing');
  await dropFiles(page, [onnx, data]);
  await waitLoaded(page, 'ext_model.onnx');
  expect(await tableRowCount(page)).toBe(1);
  await expect(page.getByTestId('summary-params')).toContainText(values.length.toLocaleString('en-US'));
  await expect(page.getByTestId('error')).toHaveCount(0);
  // both files count toward the input's bytes
  const fileBytes = Number(await page.getByTestId('summary-file-bytes').getAttribute('data-bytes'));
  expect(fileBytes).toBeGreaterThan(values.byteLength);
  // the same through the file picker with several files
  await pickFiles(page, [onnx, data]);
  await waitLoaded(page, 'ext_model.onnx');
  await shot(page, '51-external-loaded');
  expect(foreign).toEqual([]);
});
