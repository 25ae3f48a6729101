// Entry of a worker thread when running from source (tsx, vitest): threads do not inherit the
// TypeScript loader the process runs under, so register it here before loading the thread's
// module (given by startThread, src/shared/threads.ts). Compiled code (dist/) starts that module directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.threadModule);
