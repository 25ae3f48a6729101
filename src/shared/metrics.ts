import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { withTimeout } from './timeout.js';

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
 * For gauges read from a back-end at scrape time: resolves with the read's result, or with null
 * when it fails or takes longer than `timeoutMs` (the gauge then drops its series: a scrape must
 * answer, with the process's other metrics, while Redis or the database is down). Calls that
 * overlap — the gauges of one scrape are collected together — share one read.
 */
export function scrapeRead<T>(read: () => Promise<T>, timeoutMs = 2000): () => Promise<T | null> {
  let inFlight: Promise<T | null> | null = null;
  return () => {
    inFlight ??= withTimeout(read(), timeoutMs)
      .catch(() => null)
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}

/** A gauge set at each scrape from a `scrapeRead`; with no answer it has no sample (unknown, not 0). */
export function registerScrapedGauge<T>(
  registry: Registry,
  read: () => Promise<T | null>,
  gauge: { name: string; help: string; value: (result: T) => number },
): void {
  new Gauge({
    name: gauge.name,
    help: gauge.help,
    registers: [registry],
    async collect() {
      const result = await read();
      if (result === null) this.reset();
      else this.set(gauge.value(result));
    },
  });
}

/** Seconds from `since` to now; 0 when there is nothing (null) or it lies ahead. */
export function secondsSince(since: Date | null, now = Date.now()): number {
  return since === null ? 0 : Math.max(0, (now - since.getTime()) / 1000);
}
