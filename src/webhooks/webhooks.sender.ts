import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { PRODUCT_USER_AGENT } from '../shared/version.js';
import { retryAfterMs } from './webhooks.retry.js';
import { signatureHeaders } from './webhooks.signing.js';
import { AddressRefusedError, guardedLookup, refusalBeforeConnect, type TargetPolicy } from './webhooks.ssrf.js';
import { redactUrlCredentials } from './webhooks.url-mask.js';

/** Bytes of a response body kept in the delivery log. */
export const RESPONSE_BODY_LIMIT = 2048;
/** Bytes of a response body read at most (the rest is dropped with the connection). */
const RESPONSE_DRAIN_LIMIT = 64 * 1024;

/**
 * The request body `{id, type, timestamp, data}`, built from the stored event's JSON
 * text as is (no parse and re-serialise), so every attempt sends the same bytes.
 */
export function eventBody(id: string, type: string, timestamp: string | Date, dataJson: string): string {
  const when = new Date(timestamp).toISOString();
  return `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(when)},"data":${dataJson}}`;
}

export interface OutgoingEvent {
  url: string;
  eventId: string;
  /** The JSON body, exactly as signed. */
  body: string;
  secret: string;
}

export type SendOutcome =
  | { kind: 'response'; statusCode: number; responseTimeMs: number; responseBody: string; retryAfterMs: number | null }
  /** timeout, connection refused, TLS error…: worth retrying. */
  | { kind: 'network'; responseTimeMs: number; error: string }
  /** The SSRF guard refused the address: retrying will not help. */
  | { kind: 'refused'; error: string }
  /** The process is shutting down: the attempt did not happen and is not recorded. */
  | { kind: 'aborted' };

export interface WebhookSender {
  send(event: OutgoingEvent, shutdown?: AbortSignal): Promise<SendOutcome>;
  close(): Promise<void>;
}

export interface SenderOptions {
  timeoutMs: number;
  policy: TargetPolicy;
}

/**
 * Sends signed webhook requests through one connection pool whose sockets only ever
 * connect to addresses the SSRF guard checked. Redirects are not followed.
 */
export function createWebhookSender({ timeoutMs, policy }: SenderOptions): WebhookSender {
  const agent = new Agent({
    connect: { lookup: guardedLookup(policy), timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 10_000,
  });

  return {
    async send(event, shutdown) {
      const refusal = refusalBeforeConnect(new URL(event.url), policy.allowPrivateNetworks);
      if (refusal) return { kind: 'refused', error: `Refused: ${refusal}` };
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = shutdown ? AbortSignal.any([shutdown, timeout]) : timeout;
      const headers = {
        ...signatureHeaders(event.eventId, event.body, event.secret, Math.floor(Date.now() / 1000)),
        'content-type': 'application/json',
        'user-agent': PRODUCT_USER_AGENT,
      };
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      try {
        const response = await request(event.url, { method: 'POST', headers, body: event.body, dispatcher: agent, signal });
        const responseBody = await readPrefix(response.body);
        return {
          kind: 'response',
          statusCode: response.statusCode,
          responseTimeMs: elapsed(),
          responseBody,
          retryAfterMs: retryAfterMs(response.headers['retry-after'], Date.now()),
        };
      } catch (error) {
        if (shutdown?.aborted) return { kind: 'aborted' };
        const refused = causeOf(error, AddressRefusedError);
        if (refused) return { kind: 'refused', error: `Refused: ${refused.message}` };
        if (timeout.aborted) return { kind: 'network', responseTimeMs: elapsed(), error: `Timed out after ${timeoutMs} ms` };
        return { kind: 'network', responseTimeMs: elapsed(), error: describe(error) };
      }
    },
    close: () => agent.close(),
  };
}

/** The first RESPONSE_BODY_LIMIT bytes as text; reads on a little so the connection can be reused. */
async function readPrefix(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  for await (const chunk of body) {
    if (keptBytes < RESPONSE_BODY_LIMIT) {
      const part = chunk.subarray(0, RESPONSE_BODY_LIMIT - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    readBytes += chunk.length;
    if (readBytes > RESPONSE_DRAIN_LIMIT) {
      body.destroy();
      break;
    }
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(kept));
}

function causeOf<T extends Error>(error: unknown, type: new (...args: never[]) => T): T | null {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof type) return current;
  }
  return null;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause instanceof Error && cause.message !== error.message ? `: ${cause.message}` : '';
  return redactUrlCredentials(`${error.message}${detail}`).slice(0, 500);
}
