import { useState } from 'preact/hooks';
import { errorMessage, request } from '../../api/client';
import type { Job } from '../../api/types';
import { formatBytes, formatDuration, formatNumber, formatPercent, plural, secondsBetween } from '../../components/formatting';
import { ProgressBar } from '../../components/progress-bar';
import { toast } from '../../components/toasts';
import { ImportCounts } from './import-counts';
import { canRetry, isFinished, PHASE_LABELS, STATUS_LABELS } from './job-labels';
import { RateChart } from './rate-chart';
import { RejectedRows } from './rejected-rows';
import { useJobProgress } from './use-job-progress';

const TONES = { queued: 'muted', running: 'normal', completed: 'success', failed: 'danger', cancelled: 'muted' } as const;

function summary(job: Job): string {
  const took = job.started_at ? ` in ${formatDuration(secondsBetween(job.started_at, job.finished_at))}` : '';
  const counts = `${formatNumber(job.inserted)} new, ${formatNumber(job.updated)} updated, ${formatNumber(job.unchanged)} unchanged, ${formatNumber(job.invalid)} rejected`;
  if (job.status === 'completed') return `Imported ${plural(job.rows_processed, 'row')}${took}: ${counts}.`;
  if (job.status === 'cancelled') return `Cancelled after ${plural(job.rows_processed, 'row')}${took} (${counts}). The rows imported so far stay; Retry continues from there.`;
  return `Failed after ${plural(job.rows_processed, 'row')}${took}: ${job.error ?? 'no reason given'}.`;
}

function statusLine(job: Job): string {
  if (job.status === 'queued') return 'Queued: it starts when the imports before it are done.';
  if (job.status !== 'running') return STATUS_LABELS[job.status];
  const parts = [formatPercent(job.percent), PHASE_LABELS[job.phase ?? ''] ?? job.phase ?? 'starting'];
  if (job.rows_per_second !== null) parts.push(`${formatNumber(job.rows_per_second)} rows/s`);
  if (job.eta_seconds !== null) parts.push(`about ${formatDuration(job.eta_seconds)} left`);
  return parts.join(' · ');
}

export interface JobCardProps {
  initial: Job;
  onFinished: (job: Job) => void;
  onDismiss: () => void;
}

/** One import: live progress while it runs, then its summary, rejected rows, and retry. */
export function JobCard({ initial, onFinished, onDismiss }: JobCardProps) {
  const [generation, setGeneration] = useState(0);
  const [busy, setBusy] = useState(false);
  const { job: live, rates, streamError } = useJobProgress(initial, generation, (job) => {
    onFinished(job);
    if (job.status === 'completed') toast.success(`${job.filename ?? 'The file'} imported: ${plural(job.rows_processed, 'row')}.`);
    if (job.status === 'failed') toast.error(`${job.filename ?? 'The import'} failed: ${job.error ?? 'no reason given'}`);
  });
  const job = live.value;
  const finished = isFinished(job);

  const act = async (action: 'cancel' | 'retry') => {
    setBusy(true);
    try {
      const next = await request<Job>(`/api/jobs/${encodeURIComponent(job.id)}/${action}`, { method: 'POST' });
      live.value = next;
      if (action === 'retry') {
        setGeneration((value) => value + 1);
        toast.success('Import restarted.');
      } else {
        toast.success('Import cancelled.');
      }
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class={`card job-card job-${job.status}`} aria-label={`Import of ${job.filename ?? 'a file'}`} data-job-id={job.id} data-status={job.status}>
      <header class="job-card-header">
        <h2 class="job-title">{job.filename ?? 'Import'}</h2>
        <span class={`badge badge-${job.status}`}>{STATUS_LABELS[job.status]}</span>
      </header>
      <p class="muted job-meta">
        {formatBytes(job.bytes_total)}
        {job.rows_processed > 0 && ` · ${plural(job.rows_processed, 'row')} read`}
      </p>
      <ProgressBar
        value={job.status === 'queued' ? 0 : job.percent}
        label={`Import progress of ${job.filename ?? 'the file'}`}
        valueText={statusLine(job)}
        tone={TONES[job.status]}
      />
      <p class="job-status" aria-live="polite">
        {finished ? summary(job) : statusLine(job)}
      </p>
      {job.status === 'running' && (
        <p class="muted job-search-note">Searches find the rows it writes once the import has finished.</p>
      )}
      {streamError.value && <p class="form-error">{streamError.value}</p>}
      {job.warnings.length > 0 && (
        <ul class="warnings">
          {job.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      <ImportCounts job={job} />
      {rates.value.seconds.length > 1 && <RateChart points={rates.value} />}
      {finished && job.invalid > 0 && <RejectedRows job={job} />}
      <div class="actions">
        {!finished && (
          <button type="button" class="button" disabled={busy} onClick={() => act('cancel')}>
            Cancel import
          </button>
        )}
        {canRetry(job) && (
          <button type="button" class="button button-primary" disabled={busy} onClick={() => act('retry')}>
            Retry
          </button>
        )}
        {finished && (
          <button type="button" class="button button-quiet" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
    </article>
  );
}
