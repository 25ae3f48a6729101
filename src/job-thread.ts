// The module a job thread runs (started by jobs.thread-pool.ts): it serves the registered job
// kinds, so the thread and the process that starts it know the same ones.
import { jobKinds } from './job-kinds.js';
import { serveJobThread } from './jobs/jobs.thread.js';

serveJobThread(jobKinds);
