import { useEffect, useState } from 'preact/hooks';
import { followJobEvents } from '../../api/job-events';
import type { JobProgressEvent } from '../../api/types';

export type JobWatch =
  | { state: 'connecting'; job: null }
  | { state: 'running' | 'finished'; job: JobProgressEvent }
  | { state: 'lost'; job: JobProgressEvent | null };

/**
 * A job's live state from its progress stream (`followJobEvents`). `lost` only when the browser
 * gives up (the job is unknown, or the session ended).
 */
export function useJobProgress(jobId: string | null): JobWatch {
  const [watch, setWatch] = useState<JobWatch>({ state: 'connecting', job: null });

  useEffect(() => {
    if (!jobId) return;
    setWatch({ state: 'connecting', job: null });
    return followJobEvents(jobId, {
      onEvent: (job, terminal) => setWatch({ state: terminal ? 'finished' : 'running', job }),
      onGaveUp: () => setWatch((previous) => ({ state: 'lost', job: previous.job })),
    });
  }, [jobId]);

  return jobId ? watch : { state: 'connecting', job: null };
}
