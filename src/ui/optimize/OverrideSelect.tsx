import { PRESETS, presetOverride, type Override } from '../../store/settings';

/** global / skip / one of the presets; a budget pick shows as its own entry. */
export function OverrideSelect({ value, onChange, label }: { value: Override | undefined; onChange(o: Override | null): void; label: string }) {
  const current = !value ? 'global' : value.kind === 'skip' ? 'skip' : (PRESETS.find((p) => p.label === value.label)?.id ?? 'custom');
  return (
    <select
      aria-label={label}
      value={current}
      onClick={(e) => e.stopPropagation()}
      onChange={(e) => {
        const v = e.target.value;
        if (v === 'global') onChange(null);
        else if (v === 'skip') onChange({ kind: 'skip' });
        else if (v !== 'custom') onChange(presetOverride(v) ?? null);
      }}
    >
      <option value="global">global</option>
      <option value="skip">skip</option>
      {current === 'custom' && value?.kind === 'settings' && <option value="custom">{value.label}</option>}
      {PRESETS.map((p) => (
        <option key={p.id} value={p.id}>
          {p.label}
        </option>
      ))}
    </select>
  );
}
