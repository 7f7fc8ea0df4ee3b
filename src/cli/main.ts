/**
 * The shrinkray command line: `inspect` and `compress`, on the same core as the web app.
 * Exit codes: 0 ok, 1 bad input model, 2 bad usage or options, 3 internal error (130 when interrupted).
 */
import { isShrinkrayError, type ErrorCode } from '../core/errors';
import { UsageError } from './args';
import { compressCommand } from './compress';
import { COMPRESS_USAGE } from './options';
import { INSPECT_USAGE, inspectCommand } from './inspect';

export const MAIN_USAGE = `Usage: shrinkray <command> [options]

Commands:
  inspect MODEL [--json] [--stats]      the model summary and every weight
  compress MODEL -o OUT [options]       palettize, quantize or prune the weights (see compress --help)

MODEL is an .mlpackage folder, an .mlpackage.zip, an .mlmodel or an .onnx.
Run 'shrinkray <command> --help' for the options of a command.`;

const USAGE_CODES: ErrorCode[] = ['invalid-option', 'target-too-low'];
const INTERNAL_CODES: ErrorCode[] = ['internal'];

export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError) return 2;
  if (isShrinkrayError(e)) {
    if (e.code === 'cancelled') return 130;
    if (USAGE_CODES.includes(e.code)) return 2;
    if (INTERNAL_CODES.includes(e.code)) return 3;
    return 1;
  }
  return 3;
}

export async function main(argv: string[], out = (s: string) => console.log(s), err = (s: string) => console.error(s)): Promise<number> {
  const [cmd, ...rest] = argv;
  let usage = MAIN_USAGE;
  try {
    switch (cmd) {
      case undefined:
        err(MAIN_USAGE);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        out(MAIN_USAGE);
        return 0;
      case 'inspect':
        usage = INSPECT_USAGE;
        return await inspectCommand(rest, out);
      case 'compress':
        usage = COMPRESS_USAGE;
        return await compressCommand(rest, out, err);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    const code = exitCodeFor(e);
    if (e instanceof UsageError) {
      err(`shrinkray: ${e.message}\n\n${usage}`);
    } else if (isShrinkrayError(e)) {
      err(`shrinkray: error: ${e.message}`);
      if (e.code === 'target-too-low') err('(raise the deployment target with --target, e.g. --target iOS18)');
      else if (code === 2) err(`(see 'shrinkray ${cmd} --help')`);
    } else {
      err(`shrinkray: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    return code;
  }
}

// Run when executed directly (tsx src/cli/main.ts, node --import tsx src/cli/main.ts, bin/shrinkray.mjs).
const entry = process.argv[1] ?? '';
if (/[\\/]cli[\\/]main\.(ts|js|mjs)$/.test(entry)) {
  // `shrinkray inspect ... | head`: a closed pipe ends the output quietly, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(`shrinkray: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 3;
    },
  );
}
