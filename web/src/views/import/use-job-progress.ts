import { useSignal, type Signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { errorMessage, request } from '../../api/client';
import type { Job, JobProgressEvent } from '../../api/types';
import type { RatePoints } from './rate-chart-impl';
import { isFinished } from './job-labels';

/** Points kept for the chart: ~10 minutes at the stream's pace of about 5 updates a second is plenty. */
const MAX_POINTS = 600;
const EVENT_TYPES = ['progress', 'completed', 'failed', 'cancelled'];

export interface JobProgress {
  job: Signal<JobProgressEvent>;
  rates: Signal<RatePoints>;
  /** Why the live stream could not be followed (the job is then shown as last known). */
  streamError: Signal<string | null>;
}

/**
 * Follows a job over its SSE stream (GET /api/progress/{id}; the session cookie authenticates it),
 * until its terminal event. `generation` restarts the stream (after a retry).
 */
export function useJobProgress(initial: Job, generation: number, onFinished: (job: Job) => void): JobProgress {
  const job = useSignal<JobProgressEvent>(initial);
  const rates = useSignal<RatePoints>({ seconds: [], rowsPerSecond: [] });
  const streamError = useSignal<string | null>(null);

  useEffect(() => {
    if (isFinished(job.value) && generation === 0) return;
    streamError.value = null;
    const source = new EventSource(`/api/progress/${encodeURIComponent(initial.id)}`);
    let startedAt: number | null = null;

    const onEvent = (event: MessageEvent<string>) => {
      const next = JSON.parse(event.data) as JobProgressEvent;
      // A late progress event never takes back an end this page already saw (e.g. the cancel's own answer).
      if (event.type === 'progress' && isFinished(job.value)) return;
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
      if (event.type !== 'progress') {
        source.close();
        onFinished(next);
      }
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
    source.onerror = () => {
      // The browser reconnects by itself after a dropped stream; CLOSED means it gave up (e.g. 401, 404).
      if (source.readyState !== EventSource.CLOSED) return;
      request<Job>(`/api/jobs/${encodeURIComponent(initial.id)}`)
        .then((latest) => {
          job.value = latest;
          streamError.value = isFinished(latest) ? null : 'Live progress is unavailable; reload the page to try again.';
        })
        .catch((error: unknown) => (streamError.value = errorMessage(error)));
    };
    return () => source.close();
  }, [initial.id, generation]);

  return { job, rates, streamError };
}
