/** The whole window takes drops: files, several files (ONNX + external data) and folders (.mlpackage). */
import { useRef, useState, type ReactNode } from 'react';
import { useModel } from '../store/model';
import { collectDrop } from './files/tree';

export function DropZone({ children }: { children: ReactNode }) {
  const [over, setOver] = useState(false);
  const depth = useRef(0);
  const loadFiles = useModel((s) => s.loadFiles);

  const hasFiles = (e: React.DragEvent) => [...(e.dataTransfer?.types ?? [])].includes('Files');

  return (
    <div
      className="dropzone"
      data-testid="dropzone"
      onDragEnter={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth.current++;
        setOver(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={() => {
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setOver(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        depth.current = 0;
        setOver(false);
        // take the entries now: the DataTransfer empties after this handler returns
        const pending = collectDrop(e.dataTransfer);
        void pending.then(
          (files) => loadFiles(files),
          (err) => useModel.setState({ error: `Could not read the dropped files: ${String(err?.message ?? err)}` }),
        );
      }}
    >
      {children}
      {over && (
        <div className="drop-overlay" aria-hidden="true">
          <div>Drop to open: .mlpackage folder or .zip, .mlmodel, or .onnx with its data files</div>
        </div>
      )}
    </div>
  );
}
