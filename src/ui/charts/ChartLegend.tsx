/**
 * A chart legend in plain HTML next to the SVG: recharts' <Legend> measures itself (getBoundingClientRect, a forced
 * layout of the page) on every chart update; this one costs nothing when the data changes.
 */
export interface LegendItem {
  label: string;
  color: string;
  /** a dashed line instead of a filled swatch */
  line?: boolean;
}

export function ChartLegend({ items }: { items: LegendItem[] }) {
  return (
    <ul className="chart-legend" aria-label="Legend">
      {items.map((it) => (
        <li key={it.label}>
          <span className={it.line ? 'legend-line' : 'legend-swatch'} style={it.line ? { borderColor: it.color } : { background: it.color }} aria-hidden="true" />
          {it.label}
        </li>
      ))}
    </ul>
  );
}
