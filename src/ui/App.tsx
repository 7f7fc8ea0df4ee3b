import { useDeferredValue } from 'react';
import { useModel } from '../store/model';
import { useOptimize } from '../store/optimize';
import { BytesChart } from './charts/BytesChart';
import { Staged } from './charts/Staged';
import { DropZone } from './DropZone';
import { ErrorBanner } from './ErrorBanner';
import { Loader } from './Loader';
import { BudgetPanel } from './optimize/BudgetPanel';
import { useOptimizerColumns } from './optimize/columns';
import { ConfigPanel } from './optimize/ConfigPanel';
import { DownloadPanel } from './optimize/DownloadPanel';
import { LayerCharts } from './optimize/LayerCharts';
import { OptimizerPanel } from './optimize/OptimizerPanel';
import { SelectedHistogram } from './optimize/SelectedHistogram';
import { TotalsChart } from './optimize/TotalsChart';
import { Tradeoff } from './optimize/Tradeoff';
import { StatsProgress } from './StatsProgress';
import { Summary } from './Summary';
import { WeightsTable } from './WeightsTable';

export function App() {
  const model = useModel((s) => s.model);
  const generation = useModel((s) => s.generation);
  const loading = useModel((s) => s.loading);
  // the optimizer's charts mount in a background render, not inside the click that enabled them
  const enabled = useDeferredValue(useOptimize((s) => s.enabled));
  const compressible = !!model && model.weights.length > 0;
  return (
    <DropZone>
      <header className="topbar">
        <h1>
          Shrinkray <span className="tagline">compress Core ML and ONNX models, entirely in this tab</span>
        </h1>
        {model && <Loader compact />}
      </header>
      <ErrorBanner />
      {loading && (
        <div className="loading" role="status" data-testid="loading">
          Loading {loading}…
        </div>
      )}
      {!model ? (
        <main className="empty">
          <div className="empty-card">
            <h2>Drop a model anywhere in this window</h2>
            <p>
              An <code>.mlpackage</code> folder or <code>.mlpackage.zip</code>, an <code>.mlmodel</code>, or an <code>.onnx</code> together with its
              external data files. Nothing leaves your machine: the model is read and compressed in this tab.
            </p>
            <Loader />
          </div>
        </main>
      ) : (
        <main className="workspace">
          <aside className="sidebar">
            <Summary />
            {compressible && <OptimizerPanel />}
            {compressible && <DownloadPanel key={generation} />}
          </aside>
          <div className="content">
            <StatsProgress />
            {compressible && (
              // the histogram keeps its place (and its chart) when the optimizer turns on; the optimizer's charts
              // mount one after another (Staged), each in a task of its own
              <div className="charts-row">
                {enabled ? (
                  <Staged order={0} height={260} label="Per-layer chart">
                    <LayerCharts />
                  </Staged>
                ) : (
                  <BytesChart />
                )}
                <SelectedHistogram />
              </div>
            )}
            {enabled && compressible && (
              <div className="charts-row">
                <Staged order={1} height={260} label="Size versus error">
                  <Tradeoff />
                </Staged>
                <Staged order={2} height={260} label="Totals before and after">
                  <TotalsChart />
                </Staged>
              </div>
            )}
            {compressible ? <OptimizedTable /> : <WeightsTable />}
            {compressible && (
              <div className="charts-row">
                <BudgetPanel />
                <ConfigPanel key={generation} />
              </div>
            )}
          </div>
        </main>
      )}
    </DropZone>
  );
}

/** The table with the optimizer's columns: its own component, so that results re-render the table and not the page. */
function OptimizedTable() {
  const columns = useOptimizerColumns();
  return <WeightsTable extra={columns} />;
}
