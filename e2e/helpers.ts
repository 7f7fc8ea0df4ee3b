import { expect, type Page } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..');
export const FIXTURES = process.env.SHRINKRAY_FIXTURES ?? resolve(REPO, '../shared/fixtures');
export const SHOTS = resolve(REPO, 'test-results/screenshots');
mkdirSync(SHOTS, { recursive: true });

export const fixture = (...p: string[]) => resolve(FIXTURES, ...p);
export const golden = (model: string, file = 'base.json') => JSON.parse(readFileSync(fixture('golden', model, file), 'utf8'));

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: true });
}

/** Records every request that leaves the page's origin (blob: and data: are local). */
export function watchRequests(page: Page): string[] {
  const foreign: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith('blob:') || url.startsWith('data:')) return;
    if (!url.startsWith('http://127.0.0.1:4173/')) foreign.push(url);
  });
  return foreign;
}

/** Drops files onto the window with a synthesized DataTransfer (what a drag from the desktop produces for files). */
export async function dropFiles(page: Page, paths: string[]): Promise<void> {
  const files = paths.map((p) => ({ name: basename(p), b64: readFileSync(p).toString('base64') }));
  const dt = await page.evaluateHandle((fs) => {
    const dt = new DataTransfer();
    for (const f of fs) {
      const bin = atob(f.b64);
      const u = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
      dt.items.add(new File([u], f.name));
    }
    return dt;
  }, files);
  await page.dispatchEvent('[data-testid=dropzone]', 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent('[data-testid=dropzone]', 'drop', { dataTransfer: dt });
}

export async function pickFiles(page: Page, paths: string[]): Promise<void> {
  await page.locator('[data-testid=file-input]').first().setInputFiles(paths);
}

export async function pickFolder(page: Page, dir: string): Promise<void> {
  await page.locator('[data-testid=folder-input]').first().setInputFiles(dir);
}

/** Waits for a model to be shown and its statistics to finish. */
export async function waitLoaded(page: Page, name: string | RegExp): Promise<void> {
  await expect(page.getByTestId('summary').locator('h2')).toHaveText(name);
  await expect(page.getByTestId('stats-progress')).toHaveAttribute('data-done', /\d+/);
  await expect
    .poll(async () => {
      const el = page.getByTestId('stats-progress');
      return (await el.getAttribute('data-done')) === (await el.getAttribute('data-total'));
    }, { timeout: 60_000 })
    .toBe(true);
}

export async function tableRowCount(page: Page): Promise<number> {
  return page.locator('[data-testid=weights-table] tbody tr').count();
}

export async function summaryNumber(page: Page, testId: string): Promise<number> {
  const v = await page.getByTestId(testId).getAttribute('data-bytes');
  return Number(v);
}
