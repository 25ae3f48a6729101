import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { operationsRoutes, type ReadinessCheck } from './operations/operations.routes.js';
import { productsRoutes } from './products/products.routes.js';
import { Product } from './products/products.schemas.js';
import { createProductsService } from './products/products.service.js';
import { installApiDocs } from './shared/api-docs.js';
import { installApiAuth, type Authenticator } from './shared/auth.js';
import { installErrorHandling } from './shared/error-handling.js';
import { ErrorResponse, ValidationErrorResponse } from './shared/http.schemas.js';
import { installMetrics } from './shared/metrics.js';
import { requestIdOf } from './shared/request-id.js';
import { installValidatorCompiler } from './shared/validator-compiler.js';
import { PRODUCT_VERSION } from './shared/version.js';

/** The components the app is built from; the caller opens them and closes them. */
export interface AppDeps {
  config: Config;
  database: Database;
  /** Further ways into /api/* besides the API token (e.g. the UI's session). */
  authenticators?: Authenticator[];
  /** Further /readyz checks besides the database (e.g. Redis). */
  readinessChecks?: ReadinessCheck[];
}

/** Builds the HTTP app (not listening). `server.ts` starts it; tests inject into it. */
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
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installValidatorCompiler(app);
  installErrorHandling(app);
  installApiAuth(app, config.apiToken, deps.authenticators);
  installMetrics(app);
  await installApiDocs(app, PRODUCT_VERSION);
  // Shared schemas go on the root, before any plugin: a plugin adding its own would
  // get a validator compiler of Fastify's making instead of ours.
  for (const schema of [ErrorResponse, ValidationErrorResponse, Product]) app.addSchema(schema);

  const readinessChecks: ReadinessCheck[] = [
    { name: 'database', check: () => database.ping() },
    ...(deps.readinessChecks ?? []),
  ];
  await app.register(operationsRoutes, { readinessChecks });
  await app.register(productsRoutes, { products: createProductsService({ database }) });
  return app;
}
