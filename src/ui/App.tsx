import { useModel } from '../store/model';
import { BytesChart } from './charts/BytesChart';
import { Histogram } from './charts/Histogram';
import { DropZone } from './DropZone';
import { ErrorBanner } from './ErrorBanner';
import { Loader } from './Loader';
import { StatsProgress } from './StatsProgress';
import { Summary } from './Summary';
import { WeightsTable } from './WeightsTable';

export function App() {
  const model = useModel((s) => s.model);
  const loading = useModel((s) => s.loading);
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
          </aside>
          <div className="content">
            <StatsProgress />
            <div className="charts-row">
              <BytesChart />
              <Histogram />
            </div>
            <WeightsTable />
          </div>
        </main>
      )}
    </DropZone>
  );
}
