import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ReadinessCheck } from '../shared/readiness.js';
import { withTimeout } from '../shared/timeout.js';

const tags = ['operations'];
// Probes run without the API token (they show nothing but up/ready).
const config = { public: true };
const Status = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });

export const operationsRoutes: FastifyPluginAsyncTypebox<{ readinessChecks: ReadinessCheck[] }> = async (
  app,
  { readinessChecks },
) => {
  app.get(
    '/healthz',
    { config, schema: { tags, summary: 'Liveness: 200 while the process runs', security: [], response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config,
      schema: {
        tags,
        summary: 'Readiness: 200 when the database (and Redis, when configured) answer; 503 otherwise',
        security: [],
        response: { 200: Status, 503: Status },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(
        readinessChecks.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), 2000);
            return [name, 'ok'] as const;
          } catch (error) {
            return [name, `failed: ${error instanceof Error ? error.message : String(error)}`] as const;
          }
        }),
      );
      const ready = results.every(([, result]) => result === 'ok');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
    },
  );
};
