import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from './app.js';
import { loadConfigOrExit } from './config.js';
import { openRuntime } from './runtime.js';
import { exitOnSignals, once } from './shared/shutdown.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  let log: FastifyBaseLogger | null = null;
  const runtime = await openRuntime(config, (name, error) => console.error(`closing ${name} failed:`, error), {
    onBackgroundError: (name, error) => console.error(`${name} failed:`, error),
    // A job resumed at start may end before the app (and its logger) exists: that one is not logged.
    onJobPhases: (jobId, phases) => log?.info({ jobId, phases }, 'job phases (ms)'),
  });
  // dist/server.js and src/server.ts both sit one level below the project, beside web/.
  const webDistDir = fileURLToPath(new URL('../web/dist', import.meta.url));
  const app = await buildApp({ ...runtime, webDistDir });
  log = app.log;
  const shutdown = once(async () => {
    await app.close(); // stops accepting, lets in-flight requests finish
    await runtime.close();
  });
  exitOnSignals(shutdown, (message) => app.log.info(message));
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  console.error(`Product Importer failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
