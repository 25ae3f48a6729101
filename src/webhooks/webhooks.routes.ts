import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { commonErrorResponses, IdParams, notFoundResponse } from '../shared/http.schemas.js';
import {
  DeliveryListQuery,
  DeliveryParams,
  WebhookCreate,
  WebhookSecret,
  WebhookTestBody,
  WebhookTestResult,
  WebhookUpdate,
} from './webhooks.schemas.js';
import type { WebhooksService } from './webhooks.service.js';

const tags = ['webhooks'];
const webhookRef = Type.Ref('Webhook');
const deliveryRef = Type.Ref('WebhookDelivery');

export const webhooksRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhooksService }> = async (app, { webhooks }) => {
  app.get(
    '/api/webhooks',
    {
      schema: {
        tags,
        summary: 'List webhooks, with their last delivery',
        description: 'Secrets are masked.',
        response: { 200: Type.Array(webhookRef), ...commonErrorResponses },
      },
    },
    () => webhooks.list(),
  );

  app.post(
    '/api/webhooks',
    {
      schema: {
        tags,
        summary: 'Create a webhook',
        description: 'The answer shows the secret in full (generated unless given); later reads mask it.',
        body: WebhookCreate,
        response: { 201: webhookRef, ...commonErrorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await webhooks.create(request.body)),
  );

  app.get(
    '/api/webhooks/:id',
    { schema: { tags, summary: 'Get one webhook', params: IdParams, response: { 200: webhookRef, ...notFoundResponse, ...commonErrorResponses } } },
    (request) => webhooks.get(request.params.id),
  );

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/api/webhooks/:id',
      schema: {
        tags,
        summary: 'Update the fields given',
        description: 'Partial update with either method. `enabled: true` re-enables a disabled webhook and clears its disabled_reason.',
        params: IdParams,
        body: WebhookUpdate,
        response: { 200: webhookRef, ...notFoundResponse, ...commonErrorResponses },
      },
      handler: (request) => webhooks.update(request.params.id, request.body),
    });
  }

  app.delete(
    '/api/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Delete a webhook and its deliveries',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...notFoundResponse, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      await webhooks.remove(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/webhooks/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'Replace the secret with a new generated one',
        description: 'The answer shows the new secret in full. From now on every delivery is signed with the new secret only.',
        params: IdParams,
        response: { 200: webhookRef, ...notFoundResponse, ...commonErrorResponses },
      },
    },
    (request) => webhooks.rotateSecret(request.params.id),
  );

  app.get(
    '/api/webhooks/:id/secret',
    {
      schema: {
        tags,
        summary: 'Reveal the secret in full',
        params: IdParams,
        response: { 200: WebhookSecret, ...notFoundResponse, ...commonErrorResponses },
      },
    },
    (request) => webhooks.revealSecret(request.params.id),
  );

  app.post(
    '/api/webhooks/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a webhook.test event now and report the answer',
        description:
          'Waits for the endpoint (at most WEBHOOK_TIMEOUT_MS). A failing, refused or unreachable endpoint is a 200 with success false and the error. The attempt is logged as a delivery and not retried. Send `{}` or no body at all.',
        params: IdParams,
        body: WebhookTestBody,
        response: { 200: WebhookTestResult, ...notFoundResponse, ...commonErrorResponses },
      },
      // The body is optional: none at all is the same as {}.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    (request) => webhooks.test(request.params.id, request.body.data),
  );

  for (const url of ['/api/webhooks/:id/deliveries', '/api/webhooks/:id/logs']) {
    app.get(
      url,
      {
        schema: {
          tags,
          summary: url.endsWith('logs') ? 'Delivery attempts (alias of …/deliveries)' : 'Delivery attempts, newest first',
          params: IdParams,
          querystring: DeliveryListQuery,
          response: { 200: Type.Array(deliveryRef), ...notFoundResponse, ...commonErrorResponses },
        },
      },
      (request) => webhooks.deliveries(request.params.id, request.query),
    );
  }

  app.post(
    '/api/webhooks/:id/deliveries/:delivery_id/redeliver',
    {
      schema: {
        tags,
        summary: 'Send that delivery’s event again',
        description:
          'Schedules a new delivery of the same event (same webhook-id), sent at once by the dispatcher. 409 when the webhook is disabled; 410 when the event is no longer kept (RETENTION_OUTBOX_DAYS after it was fanned out).',
        params: DeliveryParams,
        response: { 202: deliveryRef, ...notFoundResponse, 409: Type.Ref('ErrorResponse'), 410: Type.Ref('ErrorResponse'), ...commonErrorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await webhooks.redeliver(request.params.id, request.params.delivery_id)),
  );
};
