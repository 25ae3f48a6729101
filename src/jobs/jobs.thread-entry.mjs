// Entry of a job thread. Threads do not inherit the TypeScript loader the process
// runs under (tsx, or vitest), so register it here before loading the thread's code.
import { register } from 'tsx/esm/api';

register();
await import('./jobs.thread.ts');
