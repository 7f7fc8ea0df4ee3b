/**
 * OptimizationConfig resolution with coremltools' precedence (formats.md §7.3, _config.py
 * _get_const_op_config): op_name_configs[const name] wins; otherwise each consumer resolves
 * op_name_configs[consumer] → op_type_configs[consumer type] → global_config, and all consumers must agree.
 * A null value disables compression for that name or type.
 */
import type { OpConfig, OptimizationConfig } from '../compress/types';
import type { WeightInfo } from '../model/types';

export type Resolved = { config: OpConfig } | { config: null; reason: string };

const has = (r: Record<string, unknown> | undefined, k: string): boolean => !!r && Object.prototype.hasOwnProperty.call(r, k);

export function describeConfig(c: OpConfig | null): string {
  if (!c) return 'None';
  const { type, ...rest } = c as unknown as Record<string, unknown>;
  return `${type}(${Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')})`;
}

/** Structural equality of two configs (attrs' __eq__), ignoring undefined keys. */
export function sameConfig(a: OpConfig | null, b: OpConfig | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return canonical(a) === canonical(b);
}

export function canonical(c: OpConfig): string {
  const o = c as unknown as Record<string, unknown>;
  return JSON.stringify(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

export function resolveConfig(oc: OptimizationConfig, w: WeightInfo): Resolved {
  const names = oc.op_name_configs;
  for (const key of [w.name, w.baseName]) {
    if (has(names, key)) {
      const c = names![key];
      return c ? { config: c } : { config: null, reason: `disabled by op_name_configs["${key}"] = None` };
    }
  }
  if (w.consumers.length === 0) return { config: null, reason: 'no consumer op reads it (it only feeds the block output)' };
  const per = w.consumers.map((op) => {
    if (has(names, op.name)) return { op, c: names![op.name], via: `op_name_configs["${op.name}"]` };
    if (has(oc.op_type_configs, op.type)) return { op, c: oc.op_type_configs![op.type], via: `op_type_configs["${op.type}"]` };
    return { op, c: oc.global_config ?? null, via: 'global_config' };
  });
  for (let i = 1; i < per.length; i++) {
    if (!sameConfig(per[0].c, per[i].c)) {
      return {
        config: null,
        reason: `conflicting configs on a shared weight: ${per[0].op.name} (${per[0].op.type}) has ${describeConfig(per[0].c)} while ${per[i].op.name} (${per[i].op.type}) has ${describeConfig(per[i].c)}`,
      };
    }
  }
  const c = per[0].c;
  if (!c) return { config: null, reason: per[0].via === 'global_config' ? 'no config applies to it' : `disabled by ${per[0].via} = None` };
  return { config: c };
}
