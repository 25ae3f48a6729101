import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseConfig } from '../../../src/config.js';
import { createDatabase } from '../../../src/db/database.js';
import { claimJob, findJobControl } from '../../../src/jobs/jobs.repository.js';
import type { ThreadCommand, ThreadMessage } from '../../../src/jobs/jobs.thread-pool.js';

// A job thread that speaks the real thread's messages but crashes: it claims the job for
// real (one more attempt), says so, then dies without finishing it. A job whose filename
// is "crash-now" crashes at once; any other waits until another run has claimed the job
// (a takeover), then crashes.

const { databaseConfig } = workerData as { databaseConfig: DatabaseConfig };
const port = parentPort;
if (!port) throw new Error('a worker thread only');
const database = createDatabase(databaseConfig);
const send = (message: ThreadMessage) => port.postMessage(message);

async function claimAndCrash(jobId: string): Promise<void> {
  const claimed = await claimJob(database.db, jobId, new Date().toISOString());
  if (!claimed) throw new Error(`job ${jobId} could not be claimed`);
  send({ type: 'claimed', jobId, attempt: claimed.attempts });
  if (claimed.filename !== 'crash-now') {
    while ((await findJobControl(database.db, jobId))?.attempts === claimed.attempts) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  process.exit(3);
}

port.on('message', (command: ThreadCommand) => {
  if (command.type === 'run') void claimAndCrash(command.jobId);
  else if (command.type === 'exit') void database.close().finally(() => port.close());
});
