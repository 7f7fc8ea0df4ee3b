/** A small, strict command-line parser: unknown options, missing values and stray arguments are usage errors. */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** long name without dashes */
  name: string;
  short?: string;
  /** 'flag' takes no value */
  kind: 'flag' | 'string' | 'number';
}

export interface Parsed {
  positionals: string[];
  values: Map<string, string | number | true>;
}

function parseNumber(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number (got "${raw}")`);
  return n;
}

export function parseArgs(argv: string[], specs: OptionSpec[]): Parsed {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const positionals: string[] = [];
  const values = new Map<string, string | number | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
      spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
    } else if (a.startsWith('-') && a.length > 1 && !/^-[\d.]/.test(a)) {
      spec = byShort.get(a.slice(1));
      if (!spec) throw new UsageError(`unknown option ${a}`);
    } else {
      positionals.push(a);
      continue;
    }
    if (values.has(spec.name)) throw new UsageError(`--${spec.name} given more than once`);
    if (spec.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      values.set(spec.name, true);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${spec.name} needs a value`);
      raw = argv[++i];
    }
    values.set(spec.name, spec.kind === 'number' ? parseNumber(spec.name, raw) : raw);
  }
  return { positionals, values };
}
