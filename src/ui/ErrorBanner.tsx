import { useModel } from '../store/model';

export function ErrorBanner() {
  const error = useModel((s) => s.error);
  const dismiss = useModel((s) => s.dismissError);
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-testid="error">
      <strong>Could not load: </strong>
      <span data-testid="error-message">{error}</span>
      <button type="button" className="link" onClick={dismiss} aria-label="Dismiss error">
        ✕
      </button>
    </div>
  );
}
