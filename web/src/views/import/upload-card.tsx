import { formatBytes, formatPercent } from '../../components/formatting';
import { ProgressBar } from '../../components/progress-bar';

export interface Upload {
  key: number;
  file: File;
  loaded: number;
  total: number;
  /** The server's refusal, or the network failure, in words. */
  error: string | null;
  abort: AbortController;
}

/** A file on its way to the server: bytes sent, or why it was refused. */
export function UploadCard({ upload, onDismiss }: { upload: Upload; onDismiss: () => void }) {
  const percent = upload.total > 0 ? (upload.loaded / upload.total) * 100 : 0;
  const sent = `${formatBytes(upload.loaded)} of ${formatBytes(upload.total)}`;
  return (
    <article class={`card job-card${upload.error ? ' job-failed' : ''}`} aria-label={`Upload of ${upload.file.name}`} data-upload>
      <header class="job-card-header">
        <h2 class="job-title">{upload.file.name}</h2>
        <span class={`badge ${upload.error ? 'badge-failed' : 'badge-running'}`}>{upload.error ? 'Refused' : 'Uploading'}</span>
      </header>
      {upload.error ? (
        <p class="form-error" role="alert">
          {upload.error}
        </p>
      ) : (
        <>
          <ProgressBar value={percent} label={`Upload of ${upload.file.name}`} valueText={sent} />
          <p class="job-status">
            Uploading: {sent} ({formatPercent(percent)})
          </p>
        </>
      )}
      <div class="actions">
        {upload.error ? (
          <button type="button" class="button button-quiet" onClick={onDismiss}>
            Dismiss
          </button>
        ) : (
          <button type="button" class="button" onClick={() => upload.abort.abort()}>
            Cancel upload
          </button>
        )}
      </div>
    </article>
  );
}
