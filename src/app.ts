import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.js';
import { bulkDeleteRoutes } from './bulk-delete/bulk-delete.routes.js';
import { createBulkDeleteService } from './bulk-delete/bulk-delete.service.js';
import type { Database } from './db/database.js';
import { jobKinds } from './job-kinds.js';
import { importsRoutes } from './imports/imports.routes.js';
import { createImportsService } from './imports/imports.service.js';
import { createUploadAdmission } from './imports/imports.upload-admission.js';
import type { ProgressBus } from './jobs/jobs.progress-bus.js';
import { createProgressStreams } from './jobs/jobs.progress-stream.js';
import type { JobQueue } from './jobs/jobs.queue.js';
import { jobsRoutes } from './jobs/jobs.routes.js';
import { Job, JobAccepted } from './jobs/jobs.schemas.js';
import { createJobsService } from './jobs/jobs.service.js';
import { operationsRoutes } from './operations/operations.routes.js';
import { createOutboxSignal, type OutboxSignal } from './outbox/outbox.signal.js';
import { productsRoutes } from './products/products.routes.js';
import { Product } from './products/products.schemas.js';
import { createProductsService } from './products/products.service.js';
import { installApiDocs } from './shared/api-docs.js';
import cookie from '@fastify/cookie';
import { createApiAuth, installApiAuth, type Authenticator } from './shared/auth.js';
import { answerClientError, answerFrameworkError } from './shared/client-errors.js';
import { installCrossSiteCheck } from './shared/cross-site.js';
import { installErrorHandling } from './shared/error-handling.js';
import { ErrorResponse, ValidationErrorResponse } from './shared/http.schemas.js';
import { installMetrics } from './shared/metrics.js';
import type { ReadinessCheck } from './shared/readiness.js';
import { requestIdOf } from './shared/request-id.js';
import { installSecurityHeaders } from './shared/security-headers.js';
import { installValidatorCompiler } from './shared/validator-compiler.js';
import { PRODUCT_VERSION } from './shared/version.js';
import { sessionRoutes } from './session/session.routes.js';
import { createSessionService } from './session/session.service.js';
import { webhooksRoutes } from './webhooks/webhooks.routes.js';
import { Webhook, WebhookDelivery } from './webhooks/webhooks.schemas.js';
import { createWebhooksService } from './webhooks/webhooks.service.js';
import type { HostResolver } from './webhooks/webhooks.ssrf.js';
import { webUiRoutes } from './web-ui/web-ui.routes.js';

/** The components the app is built from; the caller opens them and closes them. */
export interface AppDeps {
  config: Config;
  database: Database;
  /** Where jobs (imports, bulk deletes) are queued, and where their progress is heard (Runtime has both). */
  jobQueue: JobQueue;
  progressBus: ProgressBus;
  /** Wakes the webhook dispatcher after writes that append outbox events (Runtime has it; without it, the dispatcher's poll finds them). */
  outboxSignal?: OutboxSignal;
  /** Resolves webhook hosts for the SSRF guard; default the system resolver. */
  resolveHost?: HostResolver;
  /** Further ways into /api/* besides the API token (e.g. the UI's session). */
  authenticators?: Authenticator[];
  /** Further /readyz checks besides the database (e.g. Redis). */
  readinessChecks?: ReadinessCheck[];
  /** Metrics besides the HTTP and process ones, served on /metrics (Runtime has the queue's, the job runs' and the webhook backlog's). */
  metrics?: Registry;
  /** The built web UI (`web/dist`) to serve at `/`; without it `/` says how to build it. */
  webDistDir?: string | null;
}

/**
 * Builds the HTTP app (not listening) from open components; an open `Runtime` is one.
 * `server.ts` starts it; tests inject into it.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database } = deps;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    },
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    // No request may take the server's connections for ever (SSE streams send a heartbeat
    // every 15 s, so they are never idle that long; an upload has its own idle limit).
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.idleTimeoutMs,
    // How often Node enforces the request and headers timeouts (its default, 30 s, would let them run that late).
    http: { connectionsCheckingInterval: Math.min(5_000, config.http.headersTimeoutMs) },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installValidatorCompiler(app);
  installErrorHandling(app);
  await installSecurityHeaders(app);
  installCrossSiteCheck(app);
  await app.register(cookie);
  const sessions = createSessionService({ apiToken: config.apiToken, ttlHours: config.sessionTtlHours });
  const auth = createApiAuth(config.apiToken, [sessions.authenticator, ...(deps.authenticators ?? [])]);
  installApiAuth(app, auth);
  installMetrics(app, deps.metrics);
  await installApiDocs(app, PRODUCT_VERSION);
  // Shared schemas go on the root, before any plugin: a plugin adding its own would
  // get a validator compiler of Fastify's making instead of ours.
  for (const schema of [ErrorResponse, ValidationErrorResponse, Product, Job, JobAccepted, Webhook, WebhookDelivery]) app.addSchema(schema);

  const readinessChecks: ReadinessCheck[] = [
    { name: 'database', check: () => database.ping() },
    ...(deps.readinessChecks ?? []),
  ];
  await app.register(operationsRoutes, { readinessChecks });
  await app.register(sessionRoutes, { sessions, auth });
  const outboxSignal = deps.outboxSignal ?? createOutboxSignal();
  await app.register(productsRoutes, { products: createProductsService({ database, outboxSignal }) });
  const jobs = createJobsService({ database, kinds: jobKinds, queue: deps.jobQueue, progress: deps.progressBus, outboxSignal });
  await app.register(jobsRoutes, { jobs, streams: createProgressStreams(jobs, deps.progressBus) });
  const imports = createImportsService({ config, jobs, admission: createUploadAdmission(database, config) });
  await app.register(importsRoutes, { imports, maxUploadBytes: config.maxUploadBytes });
  await app.register(bulkDeleteRoutes, { bulkDelete: createBulkDeleteService({ jobs }) });
  const webhooks = createWebhooksService({ database, config: config.webhooks, resolveHost: deps.resolveHost, signal: outboxSignal });
  app.addHook('onClose', () => webhooks.close());
  await app.register(webhooksRoutes, { webhooks });
  await app.register(webUiRoutes, { distDir: deps.webDistDir ?? null });
  return app;
}
