// Entry of a job thread when running from source (tsx, vitest): threads do not inherit the
// TypeScript loader the process runs under, so register it here before loading the thread's
// code. Compiled code (dist/) starts dist/jobs/jobs.thread.js directly (jobs.thread-pool.ts).
import { register } from 'tsx/esm/api';

register();
await import('./jobs.thread.ts');
