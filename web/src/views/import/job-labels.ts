import type { Job } from '../../api/types';

export const STATUS_LABELS: Record<Job['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export const PHASE_LABELS: Record<string, string> = {
  parsing: 'reading the file',
  importing: 'importing rows',
  finalizing: 'finishing',
  deleting: 'deleting',
};

export function isFinished(job: Pick<Job, 'status'>): boolean {
  return job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';
}

export function canRetry(job: Pick<Job, 'status' | 'type'>): boolean {
  return job.type === 'import' && (job.status === 'failed' || job.status === 'cancelled');
}
