import { useSignal, type Signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { errorMessage, request } from '../../api/client';
import { followJobEvents } from '../../api/job-events';
import type { Job, JobProgressEvent } from '../../api/types';
import type { RatePoints } from './rate-chart-impl';
import { isFinished } from './job-labels';

/** Points kept for the chart: ~10 minutes at the stream's pace of about 5 updates a second is plenty. */
const MAX_POINTS = 600;

export interface JobProgress {
  job: Signal<JobProgressEvent>;
  rates: Signal<RatePoints>;
  /** Why the live stream could not be followed (the job is then shown as last known). */
  streamError: Signal<string | null>;
}

/**
 * Follows a job over its progress stream (`followJobEvents`) until its terminal event, keeping the
 * rate points for the chart. `generation` restarts the stream (after a retry).
 */
export function useJobProgress(initial: Job, generation: number, onFinished: (job: Job) => void): JobProgress {
  const job = useSignal<JobProgressEvent>(initial);
  const rates = useSignal<RatePoints>({ seconds: [], rowsPerSecond: [] });
  const streamError = useSignal<string | null>(null);

  useEffect(() => {
    if (isFinished(job.value) && generation === 0) return;
    streamError.value = null;
    let startedAt: number | null = null;

    const onEvent = (next: JobProgressEvent, terminal: boolean) => {
      // A late progress event never takes back an end this page already saw (e.g. the cancel's own answer).
      if (!terminal && isFinished(job.value)) return;
      job.value = next;
      if (next.status === 'running' && next.rows_per_second !== null) {
        const now = performance.now();
        startedAt ??= now;
        const { seconds, rowsPerSecond } = rates.value;
        rates.value = {
          seconds: [...seconds, (now - startedAt) / 1000].slice(-MAX_POINTS),
          rowsPerSecond: [...rowsPerSecond, next.rows_per_second].slice(-MAX_POINTS),
        };
      }
      if (terminal) onFinished(next);
    };
    // When the browser gave up the stream (e.g. 401, 404), the job is read once instead.
    const onGaveUp = () => {
      request<Job>(`/api/jobs/${encodeURIComponent(initial.id)}`)
        .then((latest) => {
          job.value = latest;
          streamError.value = isFinished(latest) ? null : 'Live progress is unavailable; reload the page to try again.';
        })
        .catch((error: unknown) => (streamError.value = errorMessage(error)));
    };
    return followJobEvents(initial.id, { onEvent, onGaveUp });
  }, [initial.id, generation]);

  return { job, rates, streamError };
}
