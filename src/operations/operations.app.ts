import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { createApiAuth, installApiAuth } from '../shared/auth.js';
import { installErrorHandling } from '../shared/error-handling.js';
import { installMetrics } from '../shared/metrics.js';
import type { ReadinessCheck } from '../shared/readiness.js';
import { requestIdOf } from '../shared/request-id.js';
import { operationsRoutes } from './operations.routes.js';

export interface OperationsAppDeps {
  config: Config;
  database: Database;
  /** /readyz checks besides the database. */
  readinessChecks: ReadinessCheck[];
  /** The runtime's metrics (queue, job runs, backlogs), served beside the HTTP and process ones. */
  metrics: Registry;
}

/**
 * The HTTP face of a process that serves no API (`npm run worker`): /healthz, /readyz and
 * /metrics, the same routes as the API's, and /metrics needs the API token when one is set.
 */
export async function buildOperationsApp(deps: OperationsAppDeps): Promise<FastifyInstance> {
  const { config, database } = deps;
  const app = Fastify({
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    genReqId: requestIdOf,
    requestIdHeader: false,
    forceCloseConnections: true,
    // Probes and scrapes every few seconds would drown the worker's own log lines.
    logController: new LogController({ disableRequestLogging: true }),
    connectionTimeout: config.http.idleTimeoutMs,
    requestTimeout: config.http.headersTimeoutMs,
  });
  installErrorHandling(app);
  installApiAuth(app, createApiAuth(config.apiToken));
  installMetrics(app, deps.metrics);
  const readinessChecks = [{ name: 'database', check: () => database.ping() }, ...deps.readinessChecks];
  await app.register(operationsRoutes, { readinessChecks });
  return app;
}
