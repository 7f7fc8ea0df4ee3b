/** The file and folder pickers and the sample buttons. */
import { useRef } from 'react';
import { useModel } from '../store/model';
import { filesFromInput } from './files/tree';

const SAMPLE_BASE = `${import.meta.env.BASE_URL}samples/`;

export function Loader({ compact = false }: { compact?: boolean }) {
  const loadFiles = useModel((s) => s.loadFiles);
  const loadSample = useModel((s) => s.loadSample);
  const loading = useModel((s) => s.loading);
  const fileRef = useRef<HTMLInputElement>(null);
  const dirRef = useRef<HTMLInputElement>(null);

  const onPick = (e: React.ChangeEvent<HTMLInputElement>) => {
    const files = e.target.files ? filesFromInput(e.target.files) : [];
    e.target.value = '';
    if (files.length) void loadFiles(files);
  };

  return (
    <div className={compact ? 'loader compact' : 'loader'}>
      <button type="button" onClick={() => fileRef.current?.click()} disabled={!!loading}>
        Open file…
      </button>
      <input
        ref={fileRef}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        aria-label="Open model files (.mlmodel, .onnx with its data files, .mlpackage.zip)"
        onChange={onPick}
      />
      <button type="button" onClick={() => dirRef.current?.click()} disabled={!!loading}>
        Open .mlpackage folder…
      </button>
      <input
        ref={dirRef}
        type="file"
        hidden
        data-testid="folder-input"
        aria-label="Open an .mlpackage folder"
        {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
        onChange={onPick}
      />
      <button
        type="button"
        className="primary"
        disabled={!!loading}
        onClick={() => void loadSample(`${SAMPLE_BASE}SampleNet.mlpackage.zip`, 'SampleNet.mlpackage.zip')}
      >
        Try the sample model
      </button>
      {!compact && (
        <button type="button" disabled={!!loading} onClick={() => void loadSample(`${SAMPLE_BASE}CIFAR10.onnx`, 'CIFAR10.onnx')}>
          Try an ONNX sample
        </button>
      )}
    </div>
  );
}
