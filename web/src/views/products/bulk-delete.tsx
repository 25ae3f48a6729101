import { useEffect, useState } from 'preact/hooks';
import { request } from '../../api/client';
import type { Job } from '../../api/types';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { formatNumber, formatPercent, plural } from '../../components/formatting';
import { ProgressBar } from '../../components/progress-bar';
import { toast } from '../../components/toasts';
import { useJobProgress, type JobWatch } from './job-progress';
import { startBulkDelete } from './products-api';

/** What the user types to delete the whole catalog. */
export const BULK_DELETE_WORD = 'DELETE';

/**
 * The bulk delete the view shows: one it started, or one already running when the page opened
 * (after a reload), found with one request.
 */
export function useBulkDeleteJob(): [string | null, (jobId: string | null) => void] {
  const [jobId, setJobId] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    request<Job[]>('/api/jobs', { query: { type: 'bulk_delete', status: 'running', limit: 1 }, signal: controller.signal }).then(
      (running) => setJobId((current) => current ?? running[0]?.id ?? null),
      () => undefined, // only a convenience: the view works without it
    );
    return () => controller.abort();
  }, []);
  return [jobId, setJobId];
}

/** "Delete all products": asks for the typed word, then starts the job. */
export function BulkDeleteButton({ disabled, onStarted }: { disabled: boolean; onStarted: (jobId: string) => void }) {
  const [confirming, setConfirming] = useState(false);
  const start = async () => {
    const job = await startBulkDelete();
    setConfirming(false);
    onStarted(job.job_id);
  };
  return (
    <>
      <button type="button" class="button button-danger" disabled={disabled} onClick={() => setConfirming(true)}>
        Delete all products
      </button>
      <ConfirmDialog
        open={confirming}
        title="Delete all products?"
        confirmLabel="Delete all products"
        danger
        confirmWord={BULK_DELETE_WORD}
        onConfirm={start}
        onCancel={() => setConfirming(false)}
      >
        <p>
          Every product in the catalog is deleted, whatever the filters show. <strong>This cannot be undone.</strong>
        </p>
      </ConfirmDialog>
    </>
  );
}

export interface BulkDeleteProgressProps {
  jobId: string;
  /** Once, when the job has ended (the list then shows what is left). */
  onFinished: () => void;
  onDismiss: () => void;
}

/** The bulk delete's live progress, from its event stream, until it ends. */
export function BulkDeleteProgress({ jobId, onFinished, onDismiss }: BulkDeleteProgressProps) {
  const watch = useJobProgress(jobId);
  const finished = watch.state === 'finished' ? watch.job : null;

  useEffect(() => {
    if (!finished) return;
    if (finished.status === 'completed') toast.success(`Deleted ${plural(finished.rows_processed, 'product')}.`);
    else toast.error(finished.error ?? `The bulk delete was ${finished.status}.`);
    onFinished();
  }, [finished?.status]);

  const job = watch.job;
  const tone = finished ? (finished.status === 'completed' ? 'success' : 'danger') : 'normal';
  return (
    <section class="bulk-progress card" aria-label="Delete all products: progress">
      <ProgressBar
        label="Deleting all products"
        value={job ? job.percent : null}
        valueText={job ? `${formatNumber(job.rows_processed)} of ${formatNumber(job.rows_total)} deleted` : undefined}
        tone={tone}
      />
      <p class="bulk-progress-text">
        <span role="status">{summary(watch)}</span>
        {(finished || watch.state === 'lost') && (
          <button type="button" class="button button-quiet" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </p>
    </section>
  );
}

function summary({ state, job }: JobWatch): string {
  if (state === 'lost') return 'Lost the connection to the delete job. Reload the page to see where it is.';
  if (!job) return 'Starting…';
  const counts = `${formatNumber(job.rows_processed)} of ${formatNumber(job.rows_total)}`;
  switch (job.status) {
    case 'queued':
      return 'Waiting for another job to finish…';
    case 'running':
      return `Deleting… ${counts} (${formatPercent(job.percent)})`;
    case 'completed':
      return `Done: ${plural(job.rows_processed, 'product')} deleted.`;
    default:
      return `Stopped (${job.status}) after ${counts}: ${job.error ?? 'no reason given'}`;
  }
}
