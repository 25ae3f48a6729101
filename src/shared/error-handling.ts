import type { FastifyError, FastifyInstance } from 'fastify';
import { HttpError, RequestValidationError } from './http-errors.js';
import { toValidationIssues } from './validation-errors.js';

export interface RouteEntry {
  method: string;
  /** The pattern as registered, e.g. `/api/products/:id`. */
  url: string;
  pattern: RegExp;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app (for 405 answers, and for tests that visit every route). */
    routeTable: readonly RouteEntry[];
  }
}

/**
 * Every error becomes `{"detail": …}` with the right status: 422 for invalid
 * requests, the client error Fastify found for malformed ones (400, 413, 415…),
 * 404/405 for unknown routes, and 500 only for our own faults (logged, not shown).
 */
export function installErrorHandling(app: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\\\*/g, '.*')}$`);
    for (const method of methods) routes.push({ method, url: route.url, pattern });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [...new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method))];
    // A route of this method exists but found nothing (e.g. a static file): that is a 404, not a 405.
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ detail: `Method ${request.method} not allowed; use ${allowed.join(', ')}` });
    }
    return reply.code(404).send({ detail: `Not found: ${request.method} ${path}` });
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).headers(error.headers).send({ detail: error.detail });
    if (error instanceof RequestValidationError) return reply.code(422).send({ detail: error.issues });
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      return reply.code(422).send({ detail: toValidationIssues(fastifyError.validation as never, fastifyError.validationContext ?? 'body') });
    }
    const status = fastifyError.statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ detail: error.message });
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal server error' });
  });
}
