import { loadConfigOrExit } from './config.js';
import { selectMode } from './mode/mode.js';
import { buildOperationsApp } from './operations/operations.app.js';
import { openRuntime } from './runtime.js';
import { exitOnSignals, once } from './shared/shutdown.js';

// `npm run worker` (scaled mode): takes jobs from the queue and runs each in a worker
// thread, publishing progress over Redis. Run any number of these on any machines that
// share DATABASE_URL, REDIS_URL and UPLOAD_DIR. Each serves /healthz, /readyz and
// /metrics on WORKER_HTTP_PORT (0: none).

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const mode = selectMode(config);
  if (!mode.jobsRunInWorkers) {
    console.error('npm run worker needs REDIS_URL (without it, npm start runs the jobs itself)');
    process.exit(78); // EX_CONFIG
  }
  const runtime = await openRuntime(config, (name, error) => console.error(`closing ${name} failed:`, error), {
    runJobs: true,
    onBackgroundError: (name, error) => console.error(`${name} failed:`, error),
    onJobPhases: (jobId, phases) => console.log(`job ${jobId} phases (ms): ${JSON.stringify(phases)}`),
  });
  const http = config.workerHttpPort === 0 ? null : await buildOperationsApp(runtime);
  // Running jobs stop at their next batch boundary and go back to the queue for another worker.
  const shutdown = once(async () => {
    await http?.close();
    await runtime.close();
  });
  exitOnSignals(shutdown, (message) => console.log(message), 30_000);
  try {
    const address = await http?.listen({ port: config.workerHttpPort, host: config.host });
    console.log(`worker ready (queue: ${mode.description}${address ? `; /healthz, /readyz, /metrics on ${address}` : ''})`);
  } catch (error) {
    await shutdown();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(`Product Importer worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
