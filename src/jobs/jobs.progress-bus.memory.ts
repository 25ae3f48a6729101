import { EventEmitter } from 'node:events';
import { LATEST_TTL_MS, type ProgressBus } from './jobs.progress-bus.js';
import type { Job } from './jobs.schemas.js';

/** Embedded mode: an in-process event emitter. */
export function createMemoryProgressBus(): ProgressBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0); // one per open SSE stream
  const latest = new Map<string, { job: Job; at: number }>();

  function forgetStale(now: number): void {
    for (const [id, entry] of latest) if (now - entry.at > LATEST_TTL_MS) latest.delete(id);
  }

  return {
    async publish(job) {
      const now = Date.now();
      forgetStale(now);
      latest.set(job.id, { job, at: now });
      emitter.emit(job.id, job);
    },
    async subscribe(jobId, listener) {
      emitter.on(jobId, listener);
      return async () => {
        emitter.off(jobId, listener);
      };
    },
    async latest(jobId) {
      const entry = latest.get(jobId);
      return entry && Date.now() - entry.at <= LATEST_TTL_MS ? entry.job : null;
    },
    async close() {
      emitter.removeAllListeners();
      latest.clear();
    },
  };
}
