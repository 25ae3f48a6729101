import { randomUUID } from 'node:crypto';
import type { JobAccepted } from '../jobs/jobs.schemas.js';
import type { JobsService } from '../jobs/jobs.service.js';

export interface BulkDeleteService {
  /** Starts a job that deletes every product (in chunks, with progress). */
  start(): Promise<JobAccepted>;
}

export function createBulkDeleteService(deps: { jobs: JobsService }): BulkDeleteService {
  return {
    async start() {
      const job = await deps.jobs.start({ id: randomUUID(), type: 'bulk_delete' });
      return { job_id: job.id, ...job };
    },
  };
}
