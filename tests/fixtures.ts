/** Where the shared fixtures live: ../shared/fixtures beside the repository (or $SHRINKRAY_FIXTURES). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..');
export const FIXTURES = process.env.SHRINKRAY_FIXTURES ?? resolve(REPO, '../shared/fixtures');

if (!existsSync(FIXTURES)) {
  throw new Error(`fixtures not found at ${FIXTURES}: the tests need ../shared/fixtures beside the repository`);
}

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export function readJson<T = any>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixture(...parts), 'utf8')) as T;
}
