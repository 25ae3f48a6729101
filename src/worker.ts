import { loadConfigOrExit } from './config.js';
import { openRuntime } from './runtime.js';
import { exitOnSignals } from './shared/shutdown.js';

// `npm run worker` (scaled mode): takes jobs from the BullMQ queue on Redis and runs
// each in a worker thread, publishing progress over Redis. Run any number of these on
// any machines that share DATABASE_URL, REDIS_URL and UPLOAD_DIR.

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (!config.redisUrl) {
    console.error('npm run worker needs REDIS_URL (without it, npm start runs the jobs itself)');
    process.exit(78); // EX_CONFIG
  }
  const runtime = await openRuntime(config, (name, error) => console.error(`closing ${name} failed:`, error), {
    runJobs: true,
    onBackgroundError: (name, error) => console.error(`${name} failed:`, error),
  });
  // Running jobs stop at their next batch boundary and go back to the queue for another worker.
  exitOnSignals(runtime.close, (message) => console.log(message), 30_000);
  console.log(`worker ready (queue on ${new URL(config.redisUrl).host}, prefix ${config.redisPrefix})`);
}

main().catch((error: unknown) => {
  console.error(`Product Importer worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
