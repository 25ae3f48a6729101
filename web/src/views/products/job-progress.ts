import { useEffect, useState } from 'preact/hooks';
import type { JobProgressEvent } from '../../api/types';

const TERMINAL_EVENTS = ['completed', 'failed', 'cancelled'] as const;

export type JobWatch =
  | { state: 'connecting'; job: null }
  | { state: 'running' | 'finished'; job: JobProgressEvent }
  | { state: 'lost'; job: JobProgressEvent | null };

/**
 * A job's live state from its Server-Sent Events stream (`/api/progress/{id}`; the session cookie
 * authenticates it). The stream ends with one terminal event; the browser reconnects by itself after
 * a dropped connection and the server then sends the current state at once. `lost` only when the
 * browser gives up (the job is unknown, or the session ended).
 */
export function useJobProgress(jobId: string | null): JobWatch {
  const [watch, setWatch] = useState<JobWatch>({ state: 'connecting', job: null });

  useEffect(() => {
    if (!jobId) return;
    setWatch({ state: 'connecting', job: null });
    const source = new EventSource(`/api/progress/${encodeURIComponent(jobId)}`);
    const read = (event: MessageEvent<string>) => JSON.parse(event.data) as JobProgressEvent;
    source.addEventListener('progress', (event) => setWatch({ state: 'running', job: read(event) }));
    for (const name of TERMINAL_EVENTS) {
      source.addEventListener(name, (event) => {
        source.close(); // or the browser would reconnect to a finished stream
        setWatch({ state: 'finished', job: read(event) });
      });
    }
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) setWatch((previous) => ({ state: 'lost', job: previous.job }));
    };
    return () => source.close();
  }, [jobId]);

  return jobId ? watch : { state: 'connecting', job: null };
}
