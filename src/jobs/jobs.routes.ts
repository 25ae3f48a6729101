import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { csvChunks } from '../shared/csv-format.js';
import { commonErrorResponses } from '../shared/http.schemas.js';
import type { ProgressStreams } from './jobs.progress-stream.js';
import { JobErrorList, JobErrorsQuery, JobIdParams, JobListQuery } from './jobs.schemas.js';
import type { JobsService } from './jobs.service.js';

const tags = ['jobs'];
const jobRef = Type.Ref('Job');
const error = Type.Ref('ErrorResponse');

export const jobsRoutes: FastifyPluginAsyncTypebox<{ jobs: JobsService; streams: ProgressStreams }> = async (app, { jobs, streams }) => {
  app.addHook('preClose', async () => streams.closeAll());

  app.get(
    '/api/jobs',
    {
      schema: {
        tags,
        summary: 'Recent jobs, newest first',
        querystring: JobListQuery,
        response: { 200: Type.Array(jobRef), ...commonErrorResponses },
      },
    },
    (request) => jobs.list(request.query),
  );

  app.get(
    '/api/jobs/:id',
    {
      schema: { tags, summary: 'One job (the polling alternative to the SSE stream)', params: JobIdParams, response: { 200: jobRef, 404: error, ...commonErrorResponses } },
    },
    (request) => jobs.get(request.params.id),
  );

  app.get(
    '/api/progress/:id',
    {
      schema: {
        tags,
        summary: 'Live progress of a job as Server-Sent Events',
        description: [
          'The first event is the job as it is now, sent at once; then an event at least every 500 ms while it changes, each with an increasing `id:`.',
          '`event:` is `progress`, then exactly one of `completed`, `failed`, `cancelled`, after which the server closes the stream.',
          '`data:` is the job JSON plus a `message` string for people. A comment line is sent every 15 s as heartbeat.',
          'Reconnecting (with or without `Last-Event-ID`) gets the current state at once; a job that already finished gets its terminal event at once.',
        ].join(' '),
        params: JobIdParams,
        produces: ['text/event-stream'],
        response: {
          200: { description: 'An event stream', content: { 'text/event-stream': { schema: Type.String() } } },
          404: error,
          ...commonErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const lastEventId = request.headers['last-event-id'];
      const stream = await streams.open(request.params.id, typeof lastEventId === 'string' ? lastEventId : undefined);
      reply.hijack();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(reply.getHeaders())) if (typeof value === 'string') headers[name] = value;
      stream.attach(reply.raw, headers);
    },
  );

  app.post(
    '/api/jobs/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a job',
        description:
          'A queued job is cancelled at once. A running job stops at its next batch boundary; rows already committed stay. The answer waits up to 2 s for that, so it usually shows the job `cancelled`. 409 if the job already finished.',
        params: JobIdParams,
        response: { 200: jobRef, 404: error, 409: error, ...commonErrorResponses },
      },
    },
    (request) => jobs.cancel(request.params.id),
  );

  app.post(
    '/api/jobs/:id/retry',
    {
      schema: {
        tags,
        summary: 'Run a failed or cancelled import again from its stored file',
        description:
          'The import goes on from its last committed batch (rows already imported stay, counts continue). The uploaded file is kept until the import completes, or for UPLOAD_RETENTION_HOURS after it fails or is cancelled (less when the kept files reach UPLOAD_MAX_KEPT_FILES / UPLOAD_MAX_KEPT_BYTES: the longest-failed go first); `retryable` on the job says whether it still is. 409 for any other job, or when the file is no longer kept.',
        params: JobIdParams,
        response: { 202: jobRef, 404: error, 409: error, ...commonErrorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await jobs.retry(request.params.id)),
  );

  app.get(
    '/api/jobs/:id/errors',
    {
      schema: {
        tags,
        summary: 'Rejected rows of an import',
        description:
          'JSON: `[{line, sku, field, message}]` ordered by line, paged with `limit`/`offset`. With `format=csv`: every rejected row as a CSV download, with a `line` and an `error` column before the row as it was in the file, so it can be fixed and uploaded again (the two extra columns are then ignored). Cells starting with =, +, -, @, tab or carriage return are prefixed with a single quote so spreadsheets do not run them as formulas.',
        params: JobIdParams,
        querystring: JobErrorsQuery,
        produces: ['application/json', 'text/csv'],
        response: {
          200: {
            description: 'The rejected rows',
            content: { 'application/json': { schema: JobErrorList }, 'text/csv': { schema: Type.String() } },
          },
          404: error,
          ...commonErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (request.query.format !== 'csv') return reply.type('application/json; charset=utf-8').send(await jobs.errors(id, request.query));
      await jobs.exportErrors(id, async ({ header, rows }) => {
        const body = Readable.from(csvChunks(header, rows, (cells) => cells));
        reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="import-${id}-errors.csv"`)
          .send(body);
        await finished(body).catch(() => undefined);
      });
      return reply;
    },
  );
};
