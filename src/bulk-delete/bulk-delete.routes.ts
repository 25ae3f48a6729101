import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { commonErrorResponses } from '../shared/http.schemas.js';
import { BulkDeleteBody, BulkDeleteQuery } from './bulk-delete.schemas.js';
import type { BulkDeleteService } from './bulk-delete.service.js';

const tags = ['products'];
const description =
  'Runs as a job (type `bulk_delete`): products are deleted in chunks, with progress over `/api/progress/{job_id}` (percent = products deleted / products at start), and the job ends with the catalog empty. One `products.bulk_deleted` webhook event carries the count. 422 without confirm=true.';
const response = { 202: Type.Ref('JobAccepted'), ...commonErrorResponses };

export const bulkDeleteRoutes: FastifyPluginAsyncTypebox<{ bulkDelete: BulkDeleteService }> = async (app, { bulkDelete }) => {
  app.post(
    '/api/products/bulk-delete',
    { schema: { tags, summary: 'Delete ALL products, as a job', description, body: BulkDeleteBody, response } },
    async (_request, reply) => reply.code(202).send(await bulkDelete.start()),
  );

  app.delete(
    '/api/products/bulk',
    {
      schema: { tags, summary: 'Delete ALL products, as a job (alias of POST /api/products/bulk-delete)', description, querystring: BulkDeleteQuery, response },
    },
    async (_request, reply) => reply.code(202).send(await bulkDelete.start()),
  );
};
