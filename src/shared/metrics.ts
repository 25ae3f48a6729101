import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Serves /metrics: this app's HTTP metrics and the process's, in a registry of its own (no
 * process-wide singleton), plus `shared` — the runtime's metrics (queue, jobs, backlogs),
 * which one runtime keeps for whichever app serves them.
 */
export function installMetrics(app: FastifyInstance, shared?: Registry): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  const served = shared ? Registry.merge([registry, shared]) : registry;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', served.contentType);
    return served.metrics();
  });
  return served;
}

/**
 * For gauges that read one query's result at scrape time: calls that overlap (the gauges of
 * one scrape are collected together) share one read instead of each running the query.
 */
export function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

/** Seconds from `since` to now; 0 when there is nothing (null) or it lies ahead. */
export function secondsSince(since: Date | null, now = Date.now()): number {
  return since === null ? 0 : Math.max(0, (now - since.getTime()) / 1000);
}
