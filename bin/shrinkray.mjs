#!/usr/bin/env node
// Runs the TypeScript CLI (src/cli/main.ts) through tsx with the same arguments, stdio and exit code.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(repo, 'package.json'));
let tsx;
try {
  tsx = pathToFileURL(require.resolve('tsx')).href;
} catch {
  console.error('shrinkray: tsx is not installed; run `npm install` in ' + repo);
  process.exit(3);
}
const child = spawn(process.execPath, ['--import', tsx, join(repo, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C reaches the child directly (same process group): the wrapper only waits for it to clean up.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 3);
});
