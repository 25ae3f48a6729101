import { request } from './client';
import type { Webhook, WebhookCreate, WebhookDelivery, WebhookSecret, WebhookTestResult, WebhookUpdate } from './types';

// The webhook endpoints of the API (API.md, "Webhooks"), one function per call.

const base = '/api/webhooks';

export const listWebhooks = (signal?: AbortSignal) => request<Webhook[]>(base, { signal });

export const createWebhook = (body: WebhookCreate) => request<Webhook>(base, { method: 'POST', body });

export const updateWebhook = (id: number, body: WebhookUpdate) => request<Webhook>(`${base}/${id}`, { method: 'PATCH', body });

export const deleteWebhook = (id: number) => request<void>(`${base}/${id}`, { method: 'DELETE' });

/** Sends a webhook.test event and waits for the endpoint's answer (a failure is a result, not an error). */
export const testWebhook = (id: number) => request<WebhookTestResult>(`${base}/${id}/test`, { method: 'POST', body: {} });

export const listDeliveries = (id: number, limit: number, signal?: AbortSignal) =>
  request<WebhookDelivery[]>(`${base}/${id}/deliveries`, { query: { limit }, signal });

export const redeliver = (id: number, deliveryId: number) =>
  request<WebhookDelivery>(`${base}/${id}/deliveries/${deliveryId}/redeliver`, { method: 'POST' });

export const revealSecret = (id: number) => request<WebhookSecret>(`${base}/${id}/secret`);

/** Answers the webhook with its new secret in full. */
export const rotateSecret = (id: number) => request<Webhook>(`${base}/${id}/rotate-secret`, { method: 'POST' });
