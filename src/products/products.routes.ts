import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { csvChunks } from '../shared/csv-format.js';
import { commonErrorResponses, IdParams, notFoundResponse } from '../shared/http.schemas.js';
import type { ProductsService } from './products.service.js';
import {
  DeleteProductQuery,
  DeleteSelectedBody,
  DeleteSelectedResponse,
  ProductCreate,
  ProductExportQuery,
  ProductListQuery,
  ProductPage,
  ProductUpdate,
} from './products.schemas.js';

const tags = ['products'];
const productRef = Type.Ref('Product');
const conflict = { 409: Type.Ref('ErrorResponse') };

export const EXPORT_COLUMNS = ['id', 'sku', 'name', 'description', 'price', 'active', 'created_at', 'updated_at'] as const;

export const productsRoutes: FastifyPluginAsyncTypebox<{ products: ProductsService }> = async (app, { products }) => {
  app.get(
    '/api/products',
    {
      schema: {
        tags,
        summary: 'List products, filtered, sorted and paginated',
        querystring: ProductListQuery,
        response: { 200: ProductPage, ...commonErrorResponses },
      },
    },
    (request) => products.list(request.query),
  );

  app.post(
    '/api/products',
    {
      schema: {
        tags,
        summary: 'Create a product',
        body: ProductCreate,
        response: { 201: productRef, ...conflict, ...commonErrorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await products.create(request.body)),
  );

  app.get(
    '/api/products/export',
    {
      schema: {
        tags,
        summary: 'Download the filtered list as CSV, streamed',
        description:
          'Same filters and sort as the list, no pagination. Cells starting with =, +, -, @, tab or carriage return are prefixed with a single quote so spreadsheets do not run them as formulas.',
        querystring: ProductExportQuery,
        produces: ['text/csv'],
        response: { 200: { description: 'CSV file', content: { 'text/csv': { schema: Type.String() } } }, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const filename = `products-${new Date().toISOString().slice(0, 10)}.csv`;
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`);
      await products.exportRows(request.query, async (rows) => {
        const body = Readable.from(
          csvChunks(EXPORT_COLUMNS, rows, (product) => EXPORT_COLUMNS.map((column) => product[column])),
        );
        reply.send(body);
        // Keep the reader open until the last row is sent (or the client goes away).
        await finished(body).catch(() => undefined);
      });
      return reply;
    },
  );

  app.post(
    '/api/products/delete',
    {
      schema: {
        tags,
        summary: 'Delete the selected products',
        description: 'Ids that do not exist are skipped; `deleted` counts the products actually removed.',
        body: DeleteSelectedBody,
        response: { 200: DeleteSelectedResponse, ...commonErrorResponses },
      },
    },
    async (request) => ({ deleted: await products.removeSelected(request.body.ids) }),
  );

  app.get(
    '/api/products/:id',
    {
      schema: { tags, summary: 'Get one product', params: IdParams, response: { 200: productRef, ...notFoundResponse, ...commonErrorResponses } },
    },
    (request) => products.get(request.params.id),
  );

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/api/products/:id',
      schema: {
        tags,
        summary: 'Update the fields given',
        description: 'Partial update with either method. Read-only fields echoed from a GET (id, created_at, updated_at) are ignored.',
        params: IdParams,
        body: ProductUpdate,
        response: { 200: productRef, ...notFoundResponse, ...conflict, ...commonErrorResponses },
      },
      handler: (request) => products.update(request.params.id, request.body),
    });
  }

  app.delete(
    '/api/products/:id',
    {
      schema: {
        tags,
        summary: 'Delete one product (or, with soft=true, mark it inactive)',
        params: IdParams,
        querystring: DeleteProductQuery,
        response: { 200: productRef, 204: Type.Null({ description: 'Deleted.' }), ...notFoundResponse, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      if (request.query.soft) return products.deactivate(request.params.id);
      await products.remove(request.params.id);
      return reply.code(204).send(null);
    },
  );
};
