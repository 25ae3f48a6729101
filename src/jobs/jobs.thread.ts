import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseConfig } from '../config.js';
import { createDatabase } from '../db/database.js';
import { executeJob } from './jobs.executor.js';
import type { JobKinds } from './jobs.kind.js';
import type { ThreadCommand, ThreadMessage } from './jobs.thread-pool.js';

/**
 * Makes this worker thread a job thread: it runs the jobs its parent sends, one at a time, on
 * a database connection of its own, so the API's event loop never waits on parsing or
 * writing. The thread's module (src/job-thread.ts) calls this with the registered kinds.
 */
export function serveJobThread(kinds: JobKinds): void {
  const { databaseConfig, memoryMb } = workerData as { databaseConfig: DatabaseConfig; memoryMb?: number };
  const port = parentPort;
  if (!port) throw new Error('A job thread runs only as a worker thread.');

  const database = createDatabase(databaseConfig);
  let running: AbortController | null = null;
  const send = (message: ThreadMessage) => port.postMessage(message);

  async function run(jobId: string): Promise<void> {
    running = new AbortController();
    try {
      const outcome = await executeJob(database, jobId, kinds, {
        publish: (job) => send({ type: 'update', job }),
        onClaimed: (attempt) => send({ type: 'claimed', jobId, attempt }),
        onConnectionLoss: (error, inARow) =>
          send({ type: 'connection-lost', jobId, message: error instanceof Error ? error.message : String(error), inARow }),
        onPhases: (phases) => send({ type: 'phases', jobId, phases }),
        signal: running.signal,
        memoryMb,
      });
      send({ type: 'done', jobId, outcome });
    } catch (error) {
      send({ type: 'error', jobId, message: error instanceof Error ? error.message : String(error) });
    } finally {
      running = null;
    }
  }

  port.on('message', (command: ThreadCommand) => {
    if (command.type === 'run') void run(command.jobId);
    else if (command.type === 'stop') running?.abort();
    else if (command.type === 'exit') {
      void database.close().finally(() => port.close());
    }
  });
}
