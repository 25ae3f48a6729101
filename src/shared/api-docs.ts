import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { DOCS_SECURITY_HEADERS } from './security-headers.js';

const require = createRequire(import.meta.url);
const redocBundle = require.resolve('redoc/bundles/redoc.standalone.js');

const REDOC_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Product Importer API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body>
</html>`;

/**
 * The OpenAPI document, generated from the route schemas, at /openapi.json, with
 * Swagger UI at /docs and ReDoc at /redoc, every asset served from our own packages.
 * Register before the routes, so it sees them.
 */
export async function installApiDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Product Importer API',
        version,
        description: [
          'Import product catalogs from CSV, manage them, and notify other systems through signed webhooks.',
          'With API_TOKEN set, every route needs `Authorization: Bearer <token>` (or the session cookie from `POST /api/session`) and answers 401 without it,',
          'except those marked with no security (health, docs, session). POST, PUT, PATCH and DELETE requests sent from another site',
          '(`Origin` not this host, or `Sec-Fetch-Site: cross-site`/`same-site`) are refused with 403; JSON routes answer 415 to other content types.',
        ].join(' '),
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`),
    },
  });
  await app.register(docsPages);
}

/** Every docs route in this scope (pages, assets, the document) is public and gets the docs pages' CSP. */
async function docsPages(docs: FastifyInstance): Promise<void> {
  docs.addHook('onRoute', (route) => {
    route.config = { ...route.config, public: true, helmet: DOCS_SECURITY_HEADERS };
  });
  await docs.register(swaggerUi, { routePrefix: '/docs' });

  docs.get('/openapi.json', { schema: { hide: true } }, async () => docs.swagger());
  docs.get('/redoc', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(REDOC_PAGE));
  docs.get('/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(createReadStream(redocBundle)),
  );
}
