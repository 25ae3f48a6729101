import type { Job } from './jobs.schemas.js';

export type JobUpdateListener = (job: Job) => void;

/**
 * Fans a running job's updates (the job JSON with its live rate) out to whoever streams
 * it: in-process in embedded mode, over Redis pub/sub in scaled mode so any API node
 * can serve any job's SSE stream. Delivery is best effort (at most once); readers fall
 * back to the jobs table, which stays the truth.
 */
export interface ProgressBus {
  publish(job: Job): Promise<void>;
  /** Resolves once listening (no update published after that is missed); returns the unsubscribe. */
  subscribe(jobId: string, listener: JobUpdateListener): Promise<() => Promise<void>>;
  /** The last update published for the job in the last few seconds, or null. */
  latest(jobId: string): Promise<Job | null>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** How long the last update of a job counts as its live state. */
export const LATEST_TTL_MS = 15_000;
