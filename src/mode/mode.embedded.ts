import { createMemoryProgressBus } from '../jobs/jobs.progress-bus.memory.js';
import { createEmbeddedJobQueue } from '../jobs/jobs.queue.embedded.js';
import { createOutboxSignal } from '../outbox/outbox.signal.js';
import type { ModeParts } from './mode.js';

/** Embedded mode: one process, so the queue, the progress bus and the outbox signal live in it. */
export function openEmbeddedMode(runsJobs: boolean): ModeParts {
  const jobQueue = createEmbeddedJobQueue();
  const progressBus = createMemoryProgressBus();
  return {
    jobQueue,
    progressBus,
    outboxSignal: createOutboxSignal(),
    readinessChecks: [],
    closables: [
      { name: 'job queue', close: () => jobQueue.close() },
      { name: 'progress bus', close: () => progressBus.close() },
    ],
    runsJobs,
  };
}
